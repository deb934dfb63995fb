using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using BpfMaps.Btf;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// The formatter against the real bpftool on every corpus map with BTF: for each entry bpftool dumps,
/// our <c>formatted</c> object over the same bytes must equal bpftool's, and our plain BTF text must equal
/// bpftool's plain dump after whitespace. The listed bpftool 7.1 bugs are the only allowed differences.
/// </summary>
public sealed partial class BtfFormatterParityTests(BtfCorpus corpus)
{
    public static TheoryData<string> MapsWithBtf()
    {
        var d = new TheoryData<string>();
        foreach (CorpusMap m in CorpusMap.All.Where(m => m.HasBtf && !m.Bpftool71PrintsInvalidJson))
        {
            d.Add(m.Name);
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(MapsWithBtf))]
    public void Formatted_json_equals_bpftools(string name)
    {
        corpus.Require();
        using BpfMap map = BpfMap.OpenPinned(corpus[name]);
        BtfEntryFormatter f = map.GetBtfFormatter() ?? throw new InvalidOperationException($"{name} has no BTF formatter");
        using JsonDocument dump = Bpftool.ParseDocument(Bpftool.Dump(corpus[name]));
        Assert.NotEqual(0, dump.RootElement.GetArrayLength());
        foreach (JsonElement entry in dump.RootElement.EnumerateArray())
        {
            (byte[] key, byte[] value) = Bytes(map, entry);
            string ours = Format(f, key, value);
            using JsonDocument parsed = JsonDocument.Parse(ours);
            AssertSameJson(entry.GetProperty("formatted"), parsed.RootElement, "formatted");
        }
    }

    [Theory]
    [MemberData(nameof(MapsWithBtf))]
    public void Plain_text_equals_bpftools_after_whitespace(string name)
    {
        corpus.Require();
        using BpfMap map = BpfMap.OpenPinned(corpus[name]);
        BtfEntryFormatter f = map.GetBtfFormatter()!;
        using JsonDocument dump = Bpftool.ParseDocument(Bpftool.Dump(corpus[name]));
        var buffer = new ArrayBufferWriter<byte>();
        var sink = new BtfTextSink(buffer);
        sink.StartArray();
        foreach (JsonElement entry in dump.RootElement.EnumerateArray())
        {
            (byte[] key, byte[] value) = Bytes(map, entry);
            f.Write(ref sink, key, value);
        }

        sink.EndArray();
        sink.End();
        string ours = Encoding.UTF8.GetString(buffer.WrittenSpan);
        string theirs = Bpftool.Dump(corpus[name], json: false).AssertSuccess().Stdout;

        // bpftool 7.1 writes a backslash in a string as \n; bpfmap escapes it as \\.
        string expected = Squash(theirs);
        string actual = Squash(ours.Replace(@"\\", @"\n", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
        Assert.Equal(theirs.Count(c => c == '\n'), ours.Count(c => c == '\n'));
    }

    [Fact]
    public void Floats_print_as_numbers_where_bpftool_stops()
    {
        corpus.Require();
        using BpfMap map = BpfMap.OpenPinned(corpus["floats/measurement"]);
        byte[] value = new byte[map.ValueSize];
        Assert.True(map.TryLookup(BitConverter.GetBytes(0u), value));
        string json = Format(map.GetBtfFormatter()!, BitConverter.GetBytes(0u), value);
        Assert.Equal("""{"key":0,"value":{"before":1,"ratio":1.5,"mean":-2.5,"after":2}}""", json);

        // bpftool 7.1 stops at the float with text that is not JSON.
        string theirs = Bpftool.Dump(corpus["floats/measurement"]).Stdout;
        Assert.Contains("(unsupported-kind", theirs);

        using BpfMap ratio = BpfMap.OpenPinned(corpus["floats/ratio"]);
        byte[] r = new byte[8];
        Assert.True(ratio.TryLookup(BitConverter.GetBytes(0u), r));
        Assert.Equal("""{"key":0,"value":0.25}""", Format(ratio.GetBtfFormatter()!, BitConverter.GetBytes(0u), r));

        var text = new ArrayBufferWriter<byte>();
        var sink = new BtfTextSink(text);
        map.GetBtfFormatter()!.Write(ref sink, BitConverter.GetBytes(0u), value);
        Assert.Equal("{\n    \"key\": 0,\n    \"value\": {\n        \"before\": 1,\n        \"ratio\": 1.5,\n        \"mean\": -2.5,\n        \"after\": 2\n    }\n}", Encoding.UTF8.GetString(text.WrittenSpan));
    }

    [Fact]
    public void Backslash_is_escaped_where_bpftool_writes_newline()
    {
        corpus.Require();
        using BpfMap map = BpfMap.OpenPinned(corpus["arrays/char_arrays"]);
        BtfEntryFormatter f = map.GetBtfFormatter()!;
        byte[] value = new byte[map.ValueSize];
        Assert.True(map.TryLookup(BitConverter.GetBytes(0u), value));
        using JsonDocument ours = JsonDocument.Parse(Format(f, BitConverter.GetBytes(0u), value));
        string escapes = ours.RootElement.GetProperty("value").GetProperty("escapes").GetString()!;
        Assert.Contains('\\', escapes);
        Assert.Contains('"', escapes);
        Assert.DoesNotContain('\n', escapes);
    }

    private static string Format(BtfEntryFormatter f, byte[] key, byte[] value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var sink = new BtfJsonSink(buffer);
        f.Write(ref sink, key, value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The entry's key and value bytes as bpftool printed them, the value laid out at the per-CPU stride.</summary>
    private static (byte[] Key, byte[] Value) Bytes(BpfMap map, JsonElement entry)
    {
        byte[] key = entry.TryGetProperty("key", out JsonElement k) ? Hex(k) : new byte[map.KeySize];
        byte[] value = new byte[map.ValueBufferSize];
        if (map.IsPerCpu)
        {
            foreach (JsonElement cpu in entry.GetProperty("values").EnumerateArray())
            {
                Hex(cpu.GetProperty("value")).CopyTo(value, cpu.GetProperty("cpu").GetInt32() * map.ValueStride);
            }
        }
        else
        {
            Hex(entry.GetProperty("value")).CopyTo(value, 0);
        }

        return (key, value);
    }

    private static byte[] Hex(JsonElement array)
        => [.. array.EnumerateArray().Select(b => byte.Parse(b.GetString()![2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture))];

    /// <summary>Deep equality that keeps member order and duplicate names (anonymous members are all "").</summary>
    private static void AssertSameJson(JsonElement expected, JsonElement actual, string path)
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
                // bpftool 7.1 writes a backslash as \n.
                Assert.True(expected.GetString() == actual.GetString()!.Replace('\\', '\n'), $"{path}: \"{expected.GetString()}\" vs ours \"{actual.GetString()}\"");
                break;
            case JsonValueKind.Number:
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{path}: {expected.GetRawText()} vs ours {actual.GetRawText()}");
                break;
        }
    }

    private static string Squash(string s) => Whitespace().Replace(s, "");

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
