using System.Text.Json;
using System.Text.Json.Nodes;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// The fill programs wrote what the sources say, as bpftool decodes it with BTF. Values that
/// bpftool 7.1 prints wrongly (a backslash, some enums, floats) are left to
/// <see cref="Bpftool71OutputTests"/>; everything here should hold for any bpftool.
/// </summary>
public class CorpusValuesTests(BtfCorpus corpus)
{
    private const string BashKey = """{"saddr":167772161,"daddr":167772162,"sport":12345,"dport":80,"proto":6}""";
    private const string BashValue = """{"comm":"bash","packets":3,"bytes":180,"seen":true,"last_err":-2}""";

    private List<JsonNode> Formatted(string name) => [.. Bpftool.Formatted(corpus[name])];

    /// <summary>The formatted element whose key prints as <paramref name="key"/> (JSON text).</summary>
    private JsonNode Element(string name, string key)
    {
        List<JsonNode> all = Formatted(name);
        JsonNode? found = all.SingleOrDefault(e => JsonNode.DeepEquals(e["key"], JsonNode.Parse(key)));
        Assert.True(found is not null, $"{name}: no element with key {key} in {string.Join("\n", all.Select(e => e.ToJsonString()))}");
        return found!;
    }

    private static void AssertJson(string expected, JsonNode? actual)
        => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}\n  actual {actual?.ToJsonString()}");

    private static JsonNode Without(JsonNode node, params string[] members)
    {
        JsonObject copy = node.DeepClone().AsObject();
        foreach (string m in members)
        {
            Assert.True(copy.Remove(m), $"no member {m} in {node.ToJsonString()}");
        }

        return copy;
    }

    [Fact]
    public void Flows_hold_the_feature_request_example()
    {
        Assert.Equal(2, Formatted("flows/flows").Count);
        AssertJson(BashValue, Element("flows/flows", BashKey)["value"]);
        AssertJson("""{"comm":"avahi-daemon","packets":1,"bytes":18446744073709551615,"seen":false,"last_err":0}""",
            Element("flows/flows", """{"saddr":167772163,"daddr":3758096635,"sport":5353,"dport":5353,"proto":17}""")["value"]);
        AssertJson($$"""[{"key":{{BashKey}},"value":{{BashValue}}}]""", new JsonArray([.. Formatted("flows/flows_lru").Select(e => e.DeepClone())]));
    }

    [Fact]
    public void Lookup_of_the_bash_flow_decodes_key_and_value()
    {
        // saddr, daddr, sport, dport, proto and the 3-byte tail hole, little-endian.
        byte[] key = [0x01, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x0a, 0x39, 0x30, 0x50, 0x00, 0x06, 0x00, 0x00, 0x00];
        JsonNode hit = Bpftool.Parse(Bpftool.Lookup(corpus["flows/flows"], key));
        AssertJson($$"""{"key":{{BashKey}},"value":{{BashValue}}}""", hit["formatted"]);

        key[12] = 17;
        Assert.False(Bpftool.Lookup(corpus["flows/flows"], key).Succeeded);
    }

    [Fact]
    public void Per_cpu_maps_hold_one_value_per_possible_cpu()
    {
        int possible = BtfCorpus.PossibleCpuCount;
        IReadOnlyList<int> filled = corpus.FilledCpus;

        JsonArray values = Element("flows/flows_percpu", BashKey)["values"]!.AsArray();
        Assert.Equal(possible, values.Count);
        for (int cpu = 0; cpu < possible; cpu++)
        {
            int n = filled.Contains(cpu) ? cpu + 1 : 0;
            AssertJson($$$"""{"cpu":{{{cpu}}},"value":{"packets":{{{n}}},"bytes":{{{n * 1000}}}}}""", values[cpu]);
        }

        List<JsonNode> slots = Formatted("flows/slots_percpu");
        Assert.Equal([0, 1, 2, 3], slots.Select(s => s["key"]!.GetValue<int>()));
        foreach (JsonNode slot in slots)
        {
            int s = slot["key"]!.GetValue<int>();
            JsonArray perCpu = slot["values"]!.AsArray();
            Assert.Equal(possible, perCpu.Count);
            for (int cpu = 0; cpu < possible; cpu++)
            {
                int expected = s < 2 && filled.Contains(cpu) ? s * 100 + cpu + 1 : 0;
                AssertJson($$"""{"cpu":{{cpu}},"value":{{expected}}}""", perCpu[cpu]);
            }
        }
    }

    [Fact]
    public void Integers_print_at_their_limits()
    {
        AssertJson("""
            {"s8_min":-128,"u8_max":255,"s16_min":-32768,"u16_max":65535,"s32_min":-2147483648,"u32_max":4294967295,
             "s64_min":-9223372036854775808,"u64_max":18446744073709551615,"char_a":65,"schar_neg":-1,"uchar_200":200,
             "bool_true":true,"bool_false":false,
             "u128_big":"0x123456789abcdeffedcba9876543210","s128_neg":"0xffffffffffffffffffffffffffffffff","s128_small":"0x2a"}
            """, Element("scalars/int_limits", "0")["value"]);
        AssertJson("""
            {"s8_min":0,"u8_max":0,"s16_min":0,"u16_max":0,"s32_min":0,"u32_max":0,"s64_min":0,"u64_max":0,"char_a":0,
             "schar_neg":0,"uchar_200":0,"bool_true":false,"bool_false":false,"u128_big":"0x0","s128_neg":"0x0","s128_small":"0x0"}
            """, Element("scalars/int_limits", "1")["value"]);
    }

    [Fact]
    public void Enums_print_by_name_when_a_value_matches_and_as_numbers_otherwise()
    {
        JsonNode v = Element("scalars/enum_values", "0")["value"]!;
        AssertJson("""{"color_named":"COLOR_BLUE","color_unnamed":7,"result_named":"RESULT_ENOENT","result_unnamed":-5,"level_unnamed":3,"wide_one":"WIDE_ONE"}""",
            Without(v, "color_high", "level_named", "wide_big", "wide_five"));
        AssertJson("\"COLOR_BLUE\"", Element("scalars/by_rgb", """{"r":0,"g":0,"b":255}""")["value"]);
        AssertJson("\"COLOR_RED\"", Element("scalars/by_rgb", """{"r":255,"g":128,"b":0}""")["value"]);
    }

    [Fact]
    public void Typedefs_and_qualifiers_print_as_their_base_type()
    {
        AssertJson("""{"pid":4242,"tgid":4240,"volatile_u32":3735928559,"const_u32":77,"cv_u64":1234605616436508552,"const_chars":"const"}""",
            Element("scalars/qualified", "0")["value"]);
    }

    [Fact]
    public void One_byte_keys_print_as_numbers()
    {
        AssertJson("7", Element("scalars/by_u8", "7")["value"]);
        AssertJson("255", Element("scalars/by_u8", "255")["value"]);
        Assert.Equal(2, Formatted("scalars/by_u8").Count);
    }

    [Fact]
    public void Char_arrays_print_as_strings_only_when_printable_and_terminated()
    {
        JsonNode v = Element("arrays/char_arrays", "0")["value"]!;
        AssertJson("""
            {"word":"bash","apostrophe":"it's","control":[97,98,1,99,100,0,0,0],"high_bit":[99,97,102,-61,-87,0,0,0],
             "unterminated":[97,98,99,100],"zeros":"","nul_first":"","after_nul":"ab",
             "uchars":[97,98,99,0],"schars":[97,98,99,0],"mac":[2,66,172,17,0,7]}
            """, Without(v, "escapes"));
    }

    [Fact]
    public void Number_arrays_nest()
    {
        AssertJson("""
            {"ints":[1,-2,3,-4],"shorts":[1,2,65535],"grid":[[0,1,2],[10,11,12]],"words":["one","two",""],
             "points":[{"x":-1,"y":1},{"x":300,"y":-300}],"count":2,"flex":[]}
            """, Element("arrays/number_arrays", "0")["value"]);
        AssertJson("\"init\"", Element("arrays/names", "1")["value"]);
        AssertJson("\"kworker/0:1\"", Element("arrays/names", "2")["value"]);
        AssertJson("1500", Element("arrays/by_name", "\"eth0\"")["value"]);
        AssertJson("65536", Element("arrays/by_name", "\"lo\"")["value"]);
    }

    [Fact]
    public void Bitfields_print_as_hex_strings()
    {
        AssertJson("""{"flag":"0x1","mode":"0x5","across":"0x2a","delta":"0xd","wide":"0x123456789a","tail":"0x3"}""",
            Element("layouts/bits", "0")["value"]);
    }

    [Fact]
    public void Holes_are_in_the_raw_value_and_not_in_formatted()
    {
        JsonNode e = Bpftool.Parse(Bpftool.Dump(corpus["layouts/holes"])).AsArray().Single()!;
        AssertJson("""{"a":1,"b":2,"c":3,"d":4,"e":5}""", e["formatted"]!["value"]);

        string[] raw = [.. e["value"]!.AsArray().Select(b => b!.GetValue<string>())];
        string[] ee(int n) => [.. Enumerable.Repeat("0xee", n)];
        string[] expected =
        [
            "0x01", .. ee(3), "0x02", "0x00", "0x00", "0x00", "0x03", .. ee(7),
            "0x04", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x05", "0x00", .. ee(6),
        ];
        Assert.Equal(expected, raw);
    }

    [Fact]
    public void Anonymous_members_are_named_empty_and_unions_print_every_member()
    {
        using JsonDocument doc = Bpftool.ParseDocument(Bpftool.Dump(corpus["layouts/anon"]));
        JsonElement value = doc.RootElement[0].GetProperty("formatted").GetProperty("value");
        JsonProperty[] members = [.. value.EnumerateObject()];
        Assert.Equal(["id", "", "", "named"], members.Select(m => m.Name));
        AssertJson("""{"as_u32":67305985,"as_bytes":[1,2,3,4]}""", JsonNode.Parse(members[1].Value.GetRawText()));
        AssertJson("""{"lo":4369,"hi":8738}""", JsonNode.Parse(members[2].Value.GetRawText()));
        AssertJson("""{"u64":18446744073709551614,"s64":-2,"halves":[4294967294,4294967295],"text":[-2,-1,-1,-1,-1,-1,-1,-1]}""",
            JsonNode.Parse(members[3].Value.GetRawText()));

        AssertJson("""{"u64":474315583093,"s64":474315583093,"halves":[1869180533,110],"text":"union"}""", Element("layouts/words", "1")["value"]);
    }

    [Fact]
    public void Pointers_print_as_decimal_numbers_in_json()
    {
        AssertJson("""
            {"null_void":0,"void_ptr":4096,"node_ptr":18446612682375452280,"opaque_ptr":8192,"restrict_ptr":12288,
             "user_ptr":3735928559,"const_ptr":16384,"func_ptr":20480,"after":12648430}
            """, Element("layouts/pointers", "0")["value"]);
    }

    [Fact]
    public void Outer_maps_hold_the_inner_map_ids_and_the_inner_maps_were_filled_through_them()
    {
        uint innerA = Bpftool.MapInfo(corpus["mapinmap/inner_a"])["id"]!.GetValue<uint>();
        uint innerB = Bpftool.MapInfo(corpus["mapinmap/inner_b"])["id"]!.GetValue<uint>();

        Assert.Equal(new Dictionary<uint, uint> { [0] = innerA, [2] = innerB }, RawU32Entries("mapinmap/outer_array"));
        Assert.Equal(new Dictionary<uint, uint> { [1] = innerB, [3] = innerA }, RawU32Entries("mapinmap/outer_hash"));

        AssertJson("""{"id":1,"label":"via-array"}""", Element("mapinmap/inner_a", "0")["value"]);
        AssertJson("""{"id":0,"label":""}""", Element("mapinmap/inner_a", "1")["value"]);
        AssertJson("""{"id":0,"label":""}""", Element("mapinmap/inner_b", "0")["value"]);
        AssertJson("""{"id":2,"label":"via-hash"}""", Element("mapinmap/inner_b", "1")["value"]);
    }

    private Dictionary<uint, uint> RawU32Entries(string name)
    {
        static uint U32(JsonNode? bytes) => BitConverter.ToUInt32([.. bytes!.AsArray().Select(b => Convert.ToByte(b!.GetValue<string>(), 16))]);
        JsonArray dump = Bpftool.Parse(Bpftool.Dump(corpus[name])).AsArray();
        Assert.All(dump, e => Assert.Null(e!["formatted"]));
        return dump.ToDictionary(e => U32(e!["key"]), e => U32(e!["value"]));
    }

    [Theory]
    [InlineData("globals/.bss", """{".bss":[{"last_comm":"bash"},{"packets_seen":12345},{"per_slot":[1024,2048,3072,4096]},{"live_config":{"port":443,"iface":"lo","enabled":true}},{"static_counter":3}]}""")]
    [InlineData("globals/.data", """{".data":[{"answer":42},{"banner":"hello"},{"flag":1},{"big":1234605616436508552},{"default_config":{"port":8080,"iface":"eth0","enabled":true}}]}""")]
    [InlineData("globals/.rodata", """{".rodata":[{"max_flows":1024},{"version":"v1.2"},{"negative_limit":-100}]}""")]
    [InlineData("globals/.data.custom", """{".data.custom":[{"custom_counter":7},{"custom_label":"custom"}]}""")]
    public void Global_data_prints_as_a_datasec_of_variables_without_a_key(string name, string expected)
    {
        JsonNode formatted = Formatted(name).Single();
        AssertJson($$"""{"value":{{expected}}}""", formatted);
    }
}
