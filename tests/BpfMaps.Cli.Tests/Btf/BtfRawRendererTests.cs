using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BpfMaps.Btf;
using BpfMaps.Cli.Output;
using BpfMaps.Tests.Corpus;
using static BpfMaps.Cli.Tests.Btf.BtfOutputs;

namespace BpfMaps.Cli.Tests.Btf;

/// <summary>
/// The raw-format renderers on BTF built here with every kind and field value the format has (signed and
/// unsigned enums at their limits, linkages, bitfields, vararg parameters, decl tags on members), and names
/// with the characters bpftool 7.1 escapes wrongly in JSON. Plain text is compared with bpftool on the same
/// file; JSON is checked for validity and values, since 7.1's is not JSON for these names.
/// </summary>
public sealed class BtfRawRendererTests : IDisposable
{
    // A single quote, a backslash, a double quote, a tab and a non-ASCII letter.
    private const string OddName = "it's\\a \"name\"\twith é";

    // A control character JSON requires escaped.
    private const string ControlName = "ctl\u0001x";

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"bpfmap-btf-{Guid.NewGuid():N}.btf");

    public BtfRawRendererTests() => File.WriteAllBytes(_file, Build());

    public void Dispose() => File.Delete(_file);

    private static byte[] Build()
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, isSigned: true);
        uint u8 = b.AddInt("unsigned char", 1, isSigned: false);
        b.AddInt("char", 1, isSigned: true, BtfIntEncoding.Char);
        b.AddInt("_Bool", 1, isSigned: false, BtfIntEncoding.Bool);
        b.AddInt("__int128", 16, isSigned: true);
        uint ptr = b.AddPointer(i32);
        uint arr = b.AddArray(u8, i32, 16);
        uint s = b.AddComposite(BtfKind.Struct, "bits", 8, [new("a", i32, 0, 3), new("b", i32, 3, 29), new("", u8, 32, 8)]);
        b.AddComposite(BtfKind.Union, "u", 16, [new("p", ptr, 0), new("raw", arr, 0)]);
        b.AddStruct(OddName, 4, (OddName, i32, 0));
        b.AddEnum("signed_e", 4, isSigned: true, ("MIN", int.MinValue), ("NEG", -1), ("MAX", int.MaxValue));
        b.AddEnum("unsigned_e", 4, isSigned: false, ("ZERO", 0), ("HIGH", unchecked((int)0xf0000000)), ("ALL", -1));
        b.AddEnum64("signed_e64", 8, isSigned: true, ("MIN", unchecked((ulong)long.MinValue)), ("NEG", unchecked((ulong)-1L)));
        b.AddEnum64("unsigned_e64", 8, isSigned: false, ("MAX", ulong.MaxValue), ("ONE", 1));
        b.AddForward("fwd_s", isUnion: false);
        b.AddForward("fwd_u", isUnion: true);
        uint td = b.AddTypedef("s_t", s);
        b.AddTypedef(ControlName, i32);
        b.AddModifier(BtfKind.Volatile, "", td);
        uint c = b.AddModifier(BtfKind.Const, "", i32);
        b.AddModifier(BtfKind.Restrict, "", ptr);
        b.AddModifier(BtfKind.TypeTag, "user", c);
        uint proto = b.AddFunctionProto(i32, ("ctx", ptr), ("", 0));
        b.AddFunction("f_static", proto, linkage: 0);
        b.AddFunction("f_global", proto, linkage: 1);
        b.AddFunction("f_extern", proto, linkage: 2);
        b.AddFloat("double", 8);
        b.AddDeclTag(OddName, s);
        b.AddDeclTag("on_member", s, componentIndex: 1);
        uint v1 = b.AddVariable("v_static", i32, linkage: 0);
        uint v2 = b.AddVariable("v_global", arr, linkage: 1);
        uint v3 = b.AddVariable("v_extern", s, linkage: 2);
        b.AddDataSection(".data", 28, new BtfSectionVariable(v1, 0, 4), new BtfSectionVariable(v2, 4, 16), new BtfSectionVariable(v3, 20, 8));
        return b.Build();
    }

    [Fact]
    public void Every_kind_and_field_prints_as_bpftool_prints_it()
    {
        Kernel.Bpftool();
        AssertSameBytes(Tool("btf", "dump", "file", _file), Ours("btf", "dump", "file", _file));
    }

    [Fact]
    public void The_plain_text_has_the_fields_bpftool_names()
    {
        string text = Encoding.UTF8.GetString(Ours("btf", "dump", "file", _file).AssertSuccess().Stdout);
        Assert.Contains("[3] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=UNKN\n", text);   // signed + char: bpftool has no word for both
        Assert.Contains("\n\t'a' type_id=1 bits_offset=0 bitfield_size=3\n", text);
        Assert.Contains("\n\t'(anon)' type_id=2 bits_offset=32 bitfield_size=8\n", text);
        Assert.Contains("ENUM 'signed_e' encoding=SIGNED size=4 vlen=3\n\t'MIN' val=-2147483648\n\t'NEG' val=-1\n", text);
        Assert.Contains("ENUM 'unsigned_e' encoding=UNSIGNED size=4 vlen=3\n\t'ZERO' val=0\n\t'HIGH' val=4026531840\n\t'ALL' val=4294967295\n", text);
        Assert.Contains("\n\t'MIN' val=-9223372036854775808LL\n", text);
        Assert.Contains("\n\t'MAX' val=18446744073709551615ULL\n", text);
        Assert.Contains("FWD 'fwd_u' fwd_kind=union\n", text);
        Assert.Contains("FUNC 'f_extern' type_id=", text);
        Assert.Contains(" linkage=extern\n", text);
        Assert.Contains("\n\t'(anon)' type_id=0\n", text);                                      // a vararg parameter
        Assert.Contains("VAR 'v_static' type_id=1, linkage=static\n", text);
        Assert.Contains("DATASEC '.data' size=28 vlen=3\n\ttype_id=", text);
        Assert.Contains(" offset=4 size=16 (VAR 'v_global')\n", text);
        Assert.Contains("component_idx=-1\n", text);
        Assert.Contains("component_idx=1\n", text);
        Assert.Contains($"STRUCT '{OddName}' size=4 vlen=1\n\t'{OddName}' type_id=1", text);        // names as their bytes, unescaped
    }

    [Fact]
    public void Json_is_valid_and_holds_the_exact_names_and_values()
    {
        byte[] json = Ours("-j", "btf", "dump", "file", _file).AssertSuccess().Stdout;
        JsonArray types = JsonNode.Parse(json)!["types"]!.AsArray();
        Assert.Equal(BtfSpec.Parse(Build()).TypeCount - 1, types.Count);
        JsonObject odd = types.Single(t => t!["kind"]!.GetValue<string>() == "STRUCT" && t["name"]!.GetValue<string>() == OddName)!.AsObject();
        Assert.Equal(OddName, odd["members"]![0]!["name"]!.GetValue<string>());
        Assert.Contains(types, t => t!["kind"]!.GetValue<string>() == "DECL_TAG" && t["name"]!.GetValue<string>() == OddName && t["component_idx"]!.GetValue<int>() == -1);

        JsonArray unsignedValues = types.Single(t => t!["name"]!.GetValue<string>() == "unsigned_e")!["values"]!.AsArray();
        Assert.Equal([0UL, 0xf0000000UL, 0xffffffffUL], unsignedValues.Select(v => v!["val"]!.GetValue<ulong>()));
        JsonArray signedValues = types.Single(t => t!["name"]!.GetValue<string>() == "signed_e64")!["values"]!.AsArray();
        Assert.Equal([long.MinValue, -1L], signedValues.Select(v => v!["val"]!.GetValue<long>()));
        Assert.Equal(ulong.MaxValue, types.Single(t => t!["name"]!.GetValue<string>() == "unsigned_e64")!["values"]![0]!["val"]!.GetValue<ulong>());

        // Pretty output is the same document.
        byte[] pretty = Ours("-p", "btf", "dump", "file", _file).AssertSuccess().Stdout;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(pretty)));
    }

    [Fact]
    public void Bpftool_71_json_for_these_names_is_not_json()
    {
        Kernel.Bpftool();
        if (!BpfMaps.Tests.Corpus.Bpftool.Is71)
        {
            Assert.Skip($"records a bpftool 7.1 quirk; this is {BpfMaps.Tests.Corpus.Bpftool.Version}");
        }

        // 7.1 writes a backslash as \n (valid JSON, but another name) and a control byte raw (not JSON).
        string tool = Encoding.UTF8.GetString(Tool("-j", "btf", "dump", "file", _file).AssertSuccess().Stdout);
        Assert.Contains("\"it's\\na \\\"name\\\"\\twith é\"", tool);
        Assert.Contains("\"ctl\u0001x\"", tool);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(tool));

        JsonArray ours = JsonNode.Parse(Ours("-j", "btf", "dump", "file", _file).AssertSuccess().Stdout)!["types"]!.AsArray();
        Assert.Contains(ours, t => t!["name"]!.GetValue<string>() == ControlName);
    }

    [Fact]
    public void Json_writer_escapes_what_json_needs_and_keeps_utf8()
    {
        var stream = new MemoryStream();
        var w = new BpftoolJsonWriter(new Utf8Output(stream), pretty: false);
        w.StartArray();
        w.String("a'b\\c\"d\te\nf\u0001g é"u8);
        w.String([0x61, 0xff, 0x62]);
        w.EndArray();
        w.Finish();
        string text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.Equal("[\"a'b\\\\c\\\"d\\te\\nf\\u0001g é\",\"a\uFFFDb\"]\n", text);
        Assert.Equal(["a'b\\c\"d\te\nf\u0001g é", "a\uFFFDb"], JsonNode.Parse(text)!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public void Json_writer_lays_out_like_bpftools_json_writer()
    {
        var stream = new MemoryStream();
        var w = new BpftoolJsonWriter(new Utf8Output(stream), pretty: true);
        w.StartObject();
        w.Name("types"u8);
        w.StartArray();
        w.StartObject();
        w.Field("id"u8, 1L);
        w.Name("members"u8);
        w.StartArray();
        w.EndArray();
        w.EndObject();
        w.StartObject();
        w.Field("id"u8, 2L);
        w.EndObject();
        w.EndArray();
        w.EndObject();
        w.Finish();

        // Array elements follow "},{" on one line; empty arrays stay "[]"; four spaces a level.
        Assert.Equal("{\n    \"types\": [{\n            \"id\": 1,\n            \"members\": []\n        },{\n            \"id\": 2\n        }\n    ]\n}\n", Encoding.UTF8.GetString(stream.ToArray()));
    }
}
