using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Btf;
using BpfMaps.Tests.Corpus;
using static BpfMaps.Cli.Tests.Btf.BtfOutputs;

namespace BpfMaps.Cli.Tests.Btf;

/// <summary>
/// <c>bpfmap btf show</c> against <c>bpftool btf show</c>, plain and <c>-j</c>. bpftool lists
/// <c>prog_ids</c>/<c>map_ids</c> in the order of its hash table, bpfmap in ascending order, so the lists
/// are compared as sets (and ours must be ascending). Other test processes create and free BTF objects
/// meanwhile, so <c>btf show</c> of everything is compared only for ids whose entry bpftool printed the
/// same just before and just after bpfmap ran.
/// </summary>
public class BtfShowParityTests(BtfCorpus corpus)
{
    public static TheoryData<string> Objects() => [.. CorpusMap.Objects];

    [Theory]
    [MemberData(nameof(Objects))]
    public void Show_id_of_a_corpus_object_matches(string obj)
    {
        uint id = corpus.BtfId(CorpusMap.All.First(m => m.ObjectName == obj && m.HasBtf).Name);
        JsonObject tool = Parse(Tool("-j", "btf", "show", "id", $"{id}")).AsObject();
        JsonObject ours = Parse(Ours("-j", "btf", "show", "id", $"{id}")).AsObject();
        AssertAscending(ours);
        AssertSameEntry(tool, ours);

        // The maps are the object's pinned maps; its programs are the pinned programs.
        Assert.Equal(CorpusMap.All.Count(m => m.ObjectName == obj && m.HasBtf), ours["map_ids"]!.AsArray().Count);
        Assert.Equal(Directory.GetFiles(corpus.ProgramsDirectory(obj)).Length, ours["prog_ids"]!.AsArray().Count);

        Assert.Equal(NormalizePlain(Text(Tool("btf", "show", "id", $"{id}"))), NormalizePlain(Text(Ours("btf", "show", "id", $"{id}"))));
        AssertSameJson(Tool("-p", "btf", "show", "id", $"{id}"), Ours("-p", "btf", "show", "id", $"{id}"), SortedIdLists(tool, ours));
    }

    [Fact]
    public void Show_all_matches_bpftool_for_every_id_both_list_and_that_stayed_put()
    {
        corpus.Require();
        JsonArray before = Parse(Tool("-j", "btf", "show")).AsArray();
        JsonArray ours = Parse(Ours("-j", "btf", "show")).AsArray();
        JsonArray after = Parse(Tool("-j", "btf", "show")).AsArray();

        Dictionary<uint, JsonObject> stable = ById(before)
            .Where(p => ById(after).TryGetValue(p.Key, out JsonObject? a) && JsonNode.DeepEquals(Normalize(p.Value), Normalize(a)))
            .ToDictionary(p => p.Key, p => p.Value);
        Dictionary<uint, JsonObject> mine = ById(ours);
        Assert.Equal(mine.Keys.Order(), mine.Keys);
        int compared = 0;
        foreach ((uint id, JsonObject tool) in stable)
        {
            if (mine.TryGetValue(id, out JsonObject? entry))
            {
                AssertAscending(entry);
                AssertSameEntry(tool, entry);
                compared++;
            }
        }

        // vmlinux and every corpus object are there the whole time.
        uint[] corpusIds = CorpusMap.Objects.Select(o => corpus.BtfId(CorpusMap.All.First(m => m.ObjectName == o && m.HasBtf).Name)).ToArray();
        Assert.All(corpusIds, id => Assert.Contains(id, mine.Keys));
        Assert.True(compared >= corpusIds.Length + 1, $"only {compared} entries compared");
        Assert.Contains(mine.Values, e => e["kernel"]!.GetValue<bool>() && e["name"]?.GetValue<string>() == "vmlinux");
    }

    [Fact]
    public void Show_all_plain_matches_bpftool_line_for_line_for_ids_that_stayed_put()
    {
        corpus.Require();
        Dictionary<uint, string> before = PlainById(Text(Tool("btf", "show")));
        Dictionary<uint, string> ours = PlainById(Text(Ours("btf", "list")));
        Dictionary<uint, string> after = PlainById(Text(Tool("btf", "show")));
        int compared = 0;
        foreach ((uint id, string line) in before)
        {
            if (after.GetValueOrDefault(id) == line && ours.TryGetValue(id, out string? mine))
            {
                Assert.Equal(line, mine);
                compared++;
            }
        }

        Assert.True(compared > CorpusMap.Objects.Count, $"only {compared} entries compared");
        Assert.Matches(@"^\d+: name \[vmlinux\]  size \d+B", ours.Values.First(l => l.Contains("[vmlinux]", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_btf_object_nobody_uses_is_anonymous_with_empty_lists_and_its_holder_is_in_pids()
    {
        Kernel.Require();
        var b = new BtfBuilder();
        b.AddInt("int", 4, isSigned: true);
        using BtfObject btf = BtfObject.Load(b.Build());
        uint id = BtfIdOf(btf);

        // In this process, we are the only holder, and a tool leaves itself out (as bpftool does).
        JsonObject tool = Parse(Tool("-j", "btf", "show", "id", $"{id}")).AsObject();
        JsonObject ours = Parse(Ours("-j", "btf", "show", "id", $"{id}")).AsObject();
        AssertSameEntry(tool, ours);
        Assert.Empty(ours["prog_ids"]!.AsArray());
        Assert.Empty(ours["map_ids"]!.AsArray());
        Assert.False(ours.ContainsKey("pids"));
        Assert.Equal($"{id}: name <anon>  size {ours["size"]}B\n", Text(Ours("btf", "show", "id", $"{id}")));

        // From another process, this test process holds the object: bpfmap lists it under pids, with its comm.
        string comm = File.ReadAllText("/proc/self/comm").TrimEnd('\n');
        RunResult child = Cli.RunProcess(null, "-j", "btf", "show", "id", $"{id}");
        Assert.True(child.Exit == 0, child.Stderr);
        JsonArray pids = JsonNode.Parse(child.Stdout)!["pids"]!.AsArray();
        Assert.Contains(pids, p => p!["pid"]!.GetValue<int>() == Environment.ProcessId && p["comm"]!.GetValue<string>() == comm);
        RunResult plain = Cli.RunProcess(null, "btf", "show", "id", $"{id}");
        Assert.Contains($"\n\tpids ", plain.Stdout);
        Assert.Contains($"{comm}({Environment.ProcessId})", plain.Stdout);
    }

    internal static uint BtfIdOf(BtfObject btf)
    {
        bool added = false;
        btf.Fd.DangerousAddRef(ref added);
        try
        {
            string line = File.ReadLines($"/proc/self/fdinfo/{btf.Fd.DangerousGetHandle()}").First(l => l.StartsWith("btf_id:", StringComparison.Ordinal));
            return uint.Parse(line["btf_id:".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        finally
        {
            if (added)
            {
                btf.Fd.DangerousRelease();
            }
        }
    }

    private static JsonNode Parse(ByteOutput output) => JsonNode.Parse(output.AssertSuccess().Stdout)!;

    private static string Text(ByteOutput output) => Encoding.UTF8.GetString(output.AssertSuccess().Stdout);

    private static Dictionary<uint, JsonObject> ById(JsonArray list)
        => list.Select(n => n!.AsObject()).ToDictionary(o => o["id"]!.GetValue<uint>());

    /// <summary>An entry with its id lists sorted; <c>pids</c> dropped when bpftool prints none (built without skeletons).</summary>
    private static JsonObject Normalize(JsonObject entry)
    {
        var copy = entry.DeepClone().AsObject();
        foreach (string list in (string[])["prog_ids", "map_ids"])
        {
            copy[list] = new JsonArray([.. copy[list]!.AsArray().Select(n => n!.GetValue<uint>()).Order().Select(v => (JsonNode)JsonValue.Create(v))]);
        }

        return copy;
    }

    private static void AssertSameEntry(JsonObject tool, JsonObject ours)
    {
        JsonObject t = Normalize(tool), o = Normalize(ours);
        if (!t.ContainsKey("pids"))
        {
            o.Remove("pids");
        }

        Assert.True(JsonNode.DeepEquals(t, o), $"bpftool:\n{tool.ToJsonString()}\nbpfmap:\n{ours.ToJsonString()}");
    }

    private static void AssertAscending(JsonObject entry)
    {
        foreach (string list in (string[])["prog_ids", "map_ids"])
        {
            uint[] ids = entry[list]!.AsArray().Select(n => n!.GetValue<uint>()).ToArray();
            Assert.Equal(ids.Order(), ids);
        }
    }

    // The -p comparison walks both documents in order, so our ascending lists are matched to bpftool's by position.
    private static Func<JsonContext, decimal, decimal> SortedIdLists(JsonObject tool, JsonObject ours)
    {
        var map = new Dictionary<decimal, decimal>();
        foreach (string list in (string[])["prog_ids", "map_ids"])
        {
            decimal[] t = tool[list]!.AsArray().Select(n => (decimal)n!.GetValue<uint>()).ToArray();
            decimal[] o = ours[list]!.AsArray().Select(n => (decimal)n!.GetValue<uint>()).ToArray();
            foreach ((decimal a, decimal b) in t.Zip(o))
            {
                map[a] = b;
            }
        }

        return (c, v) => c.Property is "prog_ids" or "map_ids" && map.TryGetValue(v, out decimal m) ? m : v;
    }

    /// <summary>Plain lines by id, with the id lists sorted and bpfmap's <c>pids</c> line dropped (bpftool 7.1 has none).</summary>
    private static Dictionary<uint, string> PlainById(string text)
    {
        var result = new Dictionary<uint, string>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("\tpids ", StringComparison.Ordinal))
            {
                continue;
            }

            string normalized = NormalizePlain(line + "\n").TrimEnd('\n');
            result[uint.Parse(normalized[..normalized.IndexOf(':', StringComparison.Ordinal)], CultureInfo.InvariantCulture)] = normalized;
        }

        return result;
    }

    private static string NormalizePlain(string text)
    {
        var sb = new StringBuilder();
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith("\tpids ", StringComparison.Ordinal))
            {
                continue;
            }

            sb.AppendJoin("  ", line.Split("  ").Select(field =>
            {
                int space = field.IndexOf(' ', StringComparison.Ordinal);
                return field.StartsWith("prog_ids ", StringComparison.Ordinal) || field.StartsWith("map_ids ", StringComparison.Ordinal)
                    ? field[..(space + 1)] + string.Join(',', field[(space + 1)..].Split(',').Select(uint.Parse).Order())
                    : field;
            })).Append('\n');
        }

        return sb.ToString().TrimEnd('\n');
    }
}
