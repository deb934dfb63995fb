using System.Text.Json;
using System.Text.Json.Nodes;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// The corpus as a whole, seen through the real bpftool: exactly the catalogued maps are pinned,
/// with the catalogued types, BTF where expected, a <c>formatted</c> member in every dump of a map
/// with BTF, and every BTF kind the formatter must handle somewhere in the corpus.
/// </summary>
public class CorpusMapsTests(BtfCorpus corpus)
{
    public static TheoryData<string> Maps() => [.. CorpusMap.All.Select(m => m.Name)];

    public static TheoryData<string> Objects() => [.. CorpusMap.Objects];

    [Theory]
    [MemberData(nameof(Objects))]
    public void Each_object_pins_exactly_its_catalogued_maps_and_at_least_one_program(string obj)
    {
        corpus.Require();
        string[] pinned = Directory.GetFiles(corpus.MapsDirectory(obj)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
        string[] expected = CorpusMap.All.Where(m => m.ObjectName == obj).Select(m => m.PinName).Order(StringComparer.Ordinal).ToArray();

        // An extra pin is usually a .rodata map made from a string literal or an initializer (see SET_STR in corpus.h).
        Assert.Equal(expected, pinned);
        Assert.NotEmpty(Directory.GetFiles(corpus.ProgramsDirectory(obj)));
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void Map_has_the_catalogued_type_and_btf(string name)
    {
        CorpusMap map = CorpusMap.Get(name);
        JsonObject info = Bpftool.MapInfo(corpus[name]);

        Assert.Equal(map.Type.KernelName(), info["type"]!.GetValue<string>());
        Assert.True(map.HasBtf == info.ContainsKey("btf_id"), $"{name}: expected {(map.HasBtf ? "a" : "no")} btf_id in {info.ToJsonString()}");
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void Json_dump_has_formatted_exactly_when_the_map_has_btf(string name)
    {
        CorpusMap map = CorpusMap.Get(name);
        ToolResult dump = Bpftool.Dump(corpus[name]);
        if (map.Bpftool71PrintsInvalidJson && Bpftool.Is71)
        {
            // Not JSON (see Bpftool71OutputTests); the member is still there.
            dump.AssertSuccess();
            Assert.Contains("\"formatted\":{", dump.Stdout);
            return;
        }

        using JsonDocument doc = Bpftool.ParseDocument(dump);
        JsonElement[] elements = doc.RootElement.EnumerateArray().ToArray();
        Assert.NotEmpty(elements);
        foreach (JsonElement e in elements)
        {
            Assert.True(map.HasBtf == e.TryGetProperty("formatted", out _), $"{name}: {e}");
            Assert.Equal(map.IsPerCpu, e.TryGetProperty("values", out _));
        }
    }

    [Theory]
    [MemberData(nameof(Maps))]
    public void Plain_dump_of_a_btf_map_is_json_like_and_of_others_is_hex(string name)
    {
        CorpusMap map = CorpusMap.Get(name);
        ToolResult plain = Bpftool.Dump(corpus[name], json: false).AssertSuccess();
        if (map.HasBtf)
        {
            Assert.StartsWith("[{", plain.Stdout);
            Assert.DoesNotContain("Found ", plain.Stdout);
        }
        else
        {
            Assert.StartsWith("key: ", plain.Stdout);
            Assert.EndsWith("Found 2 elements\n", plain.Stdout);
        }
    }

    [Fact]
    public void The_corpus_btf_has_every_kind_the_formatter_must_handle()
    {
        var kinds = new HashSet<string>();
        foreach (string obj in CorpusMap.Objects)
        {
            CorpusMap first = CorpusMap.All.First(m => m.ObjectName == obj && m.HasBtf);
            foreach (JsonNode? t in corpus.BtfTypes(first.Name))
            {
                kinds.Add(t!["kind"]!.GetValue<string>());
            }
        }

        string[] required = ["INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG"];
        Assert.Empty(required.Except(kinds));

        // The catalogued gap: when the compiler starts emitting ENUM64, the catalog must say where.
        Assert.DoesNotContain("ENUM64", kinds);
    }

    [Fact]
    public void Maps_of_one_object_share_its_btf_and_objects_do_not()
    {
        var byObject = CorpusMap.All.Where(m => m.HasBtf).GroupBy(m => m.ObjectName)
            .ToDictionary(g => g.Key, g => g.Select(m => corpus.BtfId(m.Name)).Distinct().ToArray());
        Assert.All(byObject, kv => Assert.Single(kv.Value));
        Assert.Equal(byObject.Count, byObject.Values.Select(ids => ids[0]).Distinct().Count());
    }
}
