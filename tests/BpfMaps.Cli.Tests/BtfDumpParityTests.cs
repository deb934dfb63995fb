using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Cli.Tests;

/// <summary>
/// bpfmap against the real bpftool on every corpus map with BTF: <c>-j dump</c> and <c>-j lookup</c> parse
/// to the same JSON (<c>formatted</c> included), plain <c>dump</c> and <c>lookup</c> print the same BTF text
/// after whitespace. The only allowed differences are bpftool 7.1's bugs: a backslash in a string, which
/// it writes as <c>\n</c>, and floats, where it stops with "(unsupported-kind".
/// </summary>
public sealed partial class BtfDumpParityTests(BtfCorpus corpus)
{
    public static TheoryData<string> Maps()
    {
        var d = new TheoryData<string>();
        foreach (CorpusMap m in CorpusMap.All.Where(m => !m.Bpftool71PrintsInvalidJson))
        {
            d.Add(m.Name);
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void Json_dump_parses_to_bpftools(string name)
    {
        corpus.Require();
        string path = corpus[name];
        RunResult ours = Cli.Run("-j", "dump", "pinned", path);
        Assert.True(ours.Exit == 0, ours.Stderr);
        using JsonDocument expected = Bpftool.ParseDocument(Bpftool.Dump(path));
        using JsonDocument actual = JsonDocument.Parse(WithoutInnerMapIds(ours.Stdout));
        Assert.True(actual.RootElement.GetArrayLength() > 0, "the corpus map is empty");
        AssertSameJson(expected.RootElement, actual.RootElement, name);
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void Plain_dump_equals_bpftools_after_whitespace(string name)
    {
        corpus.Require();
        string path = corpus[name];
        RunResult ours = Cli.Run("--format", "plain", "dump", "pinned", path);
        Assert.True(ours.Exit == 0, ours.Stderr);
        string theirs = Bpftool.Dump(path, json: false).AssertSuccess().Stdout;
        Assert.Equal(Squash(IsMapInMap(name) ? InnerMapIds(theirs) : theirs), Squash(BpftoolBackslash(ours.Stdout)));
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void Lookup_of_the_first_key_matches_bpftool_in_json_and_plain(string name)
    {
        corpus.Require();
        string path = corpus[name];
        using JsonDocument dump = Bpftool.ParseDocument(Bpftool.Dump(path));
        JsonElement first = dump.RootElement[0];
        if (!first.TryGetProperty("key", out JsonElement keyJson) || keyJson.GetArrayLength() == 0)
        {
            return;
        }

        byte[] key = [.. keyJson.EnumerateArray().Select(b => byte.Parse(b.GetString()![2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture))];
        string[] hex = ["hex", .. key.Select(b => b.ToString("x2", CultureInfo.InvariantCulture))];

        RunResult json = Cli.Run(["-j", "lookup", "pinned", path, "key", .. hex]);
        Assert.True(json.Exit == 0, json.Stderr);
        using JsonDocument theirs = Bpftool.ParseDocument(Bpftool.Lookup(path, key));
        using JsonDocument ours = JsonDocument.Parse(WithoutInnerMapIds(json.Stdout));
        AssertSameJson(theirs.RootElement, ours.RootElement, name);

        RunResult plain = Cli.Run(["--format", "plain", "lookup", "pinned", path, "key", .. hex]);
        Assert.True(plain.Exit == 0, plain.Stderr);
        string plainTheirs = Bpftool.Lookup(path, key, json: false).AssertSuccess().Stdout;
        Assert.Equal(Squash(IsMapInMap(name) ? InnerMapIds(plainTheirs) : plainTheirs), Squash(BpftoolBackslash(plain.Stdout)));
    }

    [Fact]
    public void Floats_print_as_numbers_where_bpftool_stops()
    {
        corpus.Require();
        RunResult r = Cli.Run("-j", "dump", "pinned", corpus["floats/measurement"]);
        Assert.True(r.Exit == 0, r.Stderr);
        using JsonDocument d = JsonDocument.Parse(r.Stdout);
        JsonElement v = d.RootElement[0].GetProperty("formatted").GetProperty("value");
        Assert.Equal(1.5, v.GetProperty("ratio").GetDouble());
        Assert.Equal(-2.5, v.GetProperty("mean").GetDouble());
        Assert.Equal(2, v.GetProperty("after").GetInt32());
        Assert.Contains("(unsupported-kind", Bpftool.Dump(corpus["floats/measurement"]).Stdout);

        RunResult plain = Cli.Run("--format", "plain", "dump", "pinned", corpus["floats/ratio"]);
        Assert.Contains("\"value\": 0.25", plain.Stdout);
    }

    [Fact]
    public void Raw_prints_bytes_as_before()
    {
        corpus.Require();
        string path = corpus["flows/flows"];
        RunResult r = Cli.Run("-j", "--raw", "dump", "pinned", path);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.DoesNotContain("formatted", r.Stdout);
        RunResult plain = Cli.Run("--format", "plain", "--raw", "dump", "pinned", path);
        Assert.Matches(@"Found \d+ elements", plain.Stdout);
    }

    [Fact]
    public void Getnext_adds_formatted_keys_to_bpftools_answer()
    {
        corpus.Require();
        string path = corpus["flows/flows"];
        RunResult r = Cli.Run("-j", "getnext", "pinned", path);
        Assert.True(r.Exit == 0, r.Stderr);
        using JsonDocument ours = JsonDocument.Parse(r.Stdout);
        using JsonDocument theirs = Bpftool.ParseDocument(Bpftool.Run("-j", "map", "getnext", "pinned", path));
        Assert.Equal(theirs.RootElement.GetProperty("next_key").GetRawText(), ours.RootElement.GetProperty("next_key").GetRawText());
        JsonElement formatted = ours.RootElement.GetProperty("formatted");
        Assert.Equal(JsonValueKind.Null, formatted.GetProperty("key").ValueKind);
        Assert.True(formatted.GetProperty("next_key").GetProperty("dport").GetInt32() > 0);
    }

    /// <summary>
    /// bpftool 7.1 prints a map-in-map value as its bytes; newer bpftool, and bpfmap, add the inner map id
    /// (JSON) or print it instead (plain). Ours is checked against the value bytes, then removed.
    /// </summary>
    private static string WithoutInnerMapIds(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        foreach (var entry in node is System.Text.Json.Nodes.JsonArray a ? a.ToList() : [node])
        {
            if (entry is System.Text.Json.Nodes.JsonObject o && o["inner_map_id"] is { } id)
            {
                byte[] v = [.. o["value"]!.AsArray().Select(b => byte.Parse(b!.GetValue<string>()[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture))];
                Assert.Equal(BitConverter.ToUInt32(v), id.GetValue<uint>());
                o.Remove("inner_map_id");
            }
        }

        return node.ToJsonString();
    }

    /// <summary>bpftool 7.1's plain <c>value: 10 58 00 00</c> of a map-in-map, as newer bpftool and bpfmap print it: <c>inner_map_id: 22544</c>.</summary>
    private static string InnerMapIds(string plain) => InnerMapValue().Replace(plain, m =>
    {
        byte[] b = [.. m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => byte.Parse(x, NumberStyles.HexNumber, CultureInfo.InvariantCulture))];
        return $"inner_map_id: {BitConverter.ToUInt32(b)}";
    });

    private static bool IsMapInMap(string name) => CorpusMap.Get(name).Type is MapType.ArrayOfMaps or MapType.HashOfMaps;

    /// <summary>bpftool 7.1 writes a backslash in a string as \n: make ours look the same before comparing.</summary>
    private static string BpftoolBackslash(string s) => s.Replace(@"\\", @"\n", StringComparison.Ordinal);

    private static string Squash(string s) => Whitespace().Replace(s, "");

    internal static void AssertSameJson(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: bpftool has {expected.ValueKind} {expected}, ours {actual.ValueKind} {actual}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var e = expected.EnumerateObject().ToList();
                var a = actual.EnumerateObject().ToList();
                Assert.True(e.Select(p => p.Name).SequenceEqual(a.Select(p => p.Name)), $"{path}: members [{string.Join(",", e.Select(p => p.Name))}] vs ours [{string.Join(",", a.Select(p => p.Name))}]");
                for (int i = 0; i < e.Count; i++)
                {
                    AssertSameJson(e[i].Value, a[i].Value, $"{path}.{e[i].Name}");
                }

                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{path}: {expected.GetArrayLength()} elements vs ours {actual.GetArrayLength()}");
                int n = 0;
                foreach (var (x, y) in expected.EnumerateArray().Zip(actual.EnumerateArray()))
                {
                    AssertSameJson(x, y, $"{path}[{n++}]");
                }

                break;
            case JsonValueKind.String:
                Assert.True(expected.GetString() == actual.GetString()!.Replace('\\', '\n'), $"{path}: \"{expected.GetString()}\" vs ours \"{actual.GetString()}\"");
                break;
            case JsonValueKind.Number:
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{path}: {expected.GetRawText()} vs ours {actual.GetRawText()}");
                break;
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    // Only maps of maps print a 4-byte value this way in the corpus; the test applies it to those alone.
    [GeneratedRegex(@"value: ((?:[0-9a-f]{2} ?){4})(?=\n|$)")]
    private static partial Regex InnerMapValue();
}
