using System.Text;
using BpfMaps.Btf;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Cli.Output;

namespace BpfMaps.Cli.Tests.EventPipe;

/// <summary>Each event_pipe renderer on its own, over records made in memory.</summary>
public class EventRendererTests
{
    private static readonly byte[] Twenty = Enumerable.Range(0, 20).Select(i => (byte)i).ToArray();

    private static string Render(Func<Stream, IEventRenderer> create, Action<IEventRenderer> records)
    {
        var stdout = new MemoryStream();
        IEventRenderer r = create(stdout);
        r.Begin();
        records(r);
        r.End();
        return Encoding.UTF8.GetString(stdout.ToArray());
    }

    private static void Perf(IEventRenderer r)
    {
        r.Sample(new EventRecord(1, 3, 12_000_000_345, Twenty));
        r.Lost(1, 3, 77, 5);
        r.Sample(new EventRecord(0, 0, 5, []));
    }

    // A u32 pid and a char[4] comm.
    private static BtfFormatter Type()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("u32", 4, isSigned: false);
        uint ch = b.AddInt("char", 1, isSigned: true);
        uint comm = b.AddArray(ch, u32, 4);
        uint ev = b.AddStruct("ev", 8, ("pid", u32, 0), ("comm", comm, 4));
        return BtfFormatter.Compile(BtfSpec.Parse(b.Build()), ev);
    }

    private static readonly byte[] Ev = [42, 0, 0, 0, (byte)'a', (byte)'b', 0, 0];

    [Fact]
    public void Plain_is_bpftools_text()
    {
        string text = Render(s => new PlainEventRenderer(s, null), Perf);
        Assert.Equal(
            "== @12.000000345 CPU: 1 index: 3 =====\n"
            + "00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n10 11 12 13\n"
            + "lost 5 events\n"
            + "== @0.000000005 CPU: 0 index: 0 =====\n\n",
            text);
        Assert.Equal("== @1.000000000 =====\n01 02\n", Render(s => new PlainEventRenderer(s, null), r => r.Sample(new EventRecord(-1, -1, 1_000_000_000, [1, 2]))));
    }

    [Fact]
    public void Plain_with_a_type_prints_bpftools_btf_text_and_hex_for_a_short_record()
    {
        string text = Render(s => new PlainEventRenderer(s, Type()), r =>
        {
            r.Sample(new EventRecord(-1, -1, 1, Ev));
            r.Sample(new EventRecord(-1, -1, 2, [1, 2, 3]));
        });
        Assert.Equal("== @0.000000001 =====\n{\n    \"pid\": 42,\n    \"comm\": \"ab\"\n}\n== @0.000000002 =====\n01 02 03\n", text);
    }

    [Fact]
    public void Json_is_bpftools_objects_in_an_array()
    {
        string text = Render(s => new JsonEventRenderer(s, false, null, lines: false), Perf);
        Assert.Equal(
            "[{\"type\":9,\"cpu\":1,\"index\":3,\"timestamp\":12000000345,\"data\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]},"
            + "{\"type\":2,\"cpu\":1,\"index\":3,\"lost\":{\"id\":77,\"count\":5}},"
            + "{\"type\":9,\"cpu\":0,\"index\":0,\"timestamp\":5,\"data\":[]}]\n",
            text);
        Assert.Equal("[]\n", Render(s => new JsonEventRenderer(s, false, null, lines: false), _ => { }));
    }

    // bpftool's json_writer ends an array that has elements on a new line, indented.
    [Fact]
    public void Pretty_json_has_bpftools_layout()
    {
        string text = Render(s => new JsonEventRenderer(s, true, Type(), lines: false), r => r.Sample(new EventRecord(2, 2, 7, Ev)));
        Assert.Equal(
            "[{\n        \"type\": 9,\n        \"cpu\": 2,\n        \"index\": 2,\n        \"timestamp\": 7,\n        \"data\": [42,0,0,0,97,98,0,0\n        ],\n"
            + "        \"formatted\": {\n            \"pid\": 42,\n            \"comm\": \"ab\"\n        }\n    }\n]\n",
            text);
    }

    [Fact]
    public void Ndjson_is_one_object_a_line_with_formatted_for_typed_records()
    {
        string text = Render(s => new JsonEventRenderer(s, false, Type(), lines: true), r =>
        {
            r.Sample(new EventRecord(-1, -1, 9, Ev));
            r.Lost(0, 1, 2, 3);
        });
        Assert.Equal(
            "{\"timestamp\":9,\"data\":[42,0,0,0,97,98,0,0],\"formatted\":{\"pid\":42,\"comm\":\"ab\"}}\n"
            + "{\"type\":2,\"cpu\":0,\"index\":1,\"lost\":{\"id\":2,\"count\":3}}\n",
            text);
    }

    [Fact]
    public void Table_has_fixed_columns_and_cuts_data_to_the_width()
    {
        string[] lines = Render(s => new TableEventRenderer(s, 60, null, perf: true), Perf).Split('\n');
        Assert.Equal("TIME                CPU INDEX SIZE  DATA", lines[0]);
        Assert.Equal("12.000000345        1   3     20    00 01 02 03 04 05 06 …", lines[1]);
        Assert.Equal("                    1   3           lost 5 events", lines[2]);
        Assert.Equal("0.000000005         0   0     0     ", lines[3]);

        string[] typed = Render(s => new TableEventRenderer(s, 80, Type(), perf: false), r => r.Sample(new EventRecord(-1, -1, 1, Ev))).Split('\n');
        Assert.Equal("TIME                SIZE  pid         comm        ", typed[0]);
        Assert.Equal("0.000000001         8     42          ab          ", typed[1]);
    }
}
