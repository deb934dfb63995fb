using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Inspection;
using BpfMaps.Cli.Output;

namespace BpfMaps.Cli.Tests;

/// <summary>Each renderer on its own, with in-memory entries: no kernel needed.</summary>
public class RendererTests
{
    private static readonly byte[] K1 = [1, 0, 0, 0];
    private static readonly byte[] V1 = [2, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] K3 = [3, 0, 0, 0];
    private static readonly byte[] V3 = [0xff, 0, 0, 0, 0, 0, 0, 1];

    private static string Render(Func<Stream, IEntryRenderer> make, params (byte[] K, byte[] V)[] entries)
    {
        var ms = new MemoryStream();
        using (IEntryRenderer r = make(ms))
        {
            r.Begin();
            foreach (var (k, v) in entries)
            {
                r.Entry(k, v);
            }

            r.End(entries.Length);
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    [Fact]
    public void Json_dump_is_bpftools_byte_arrays()
    {
        string s = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 8), pretty: false), (K1, V1), (K3, V3));
        Assert.Equal("""[{"key":["0x01","0x00","0x00","0x00"],"value":["0x02","0x00","0x00","0x00","0x00","0x00","0x00","0x00"]},{"key":["0x03","0x00","0x00","0x00"],"value":["0xff","0x00","0x00","0x00","0x00","0x00","0x00","0x01"]}]""" + "\n", s);
    }

    [Fact]
    public void Json_pretty_parses_to_the_same_document()
    {
        string compact = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 8), pretty: false), (K1, V1), (K3, V3));
        string pretty = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 8), pretty: true), (K1, V1), (K3, V3));
        Assert.Contains("\n", pretty.TrimEnd());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(compact), JsonNode.Parse(pretty)));
    }

    [Fact]
    public void Json_empty_dump_is_an_empty_array()
        => Assert.Equal("[]\n", Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 8), pretty: false)));

    [Fact]
    public void Json_lookup_is_one_object()
    {
        string s = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 8), pretty: false, single: true), (K1, V1));
        Assert.StartsWith("{\"key\":", s);
    }

    [Fact]
    public void Json_per_cpu_lists_every_cpu_at_the_stride()
    {
        // value_size 4, stride 8, 2 CPUs: CPU 1's value starts at byte 8.
        byte[] v = [5, 0, 0, 0, 0xee, 0xee, 0xee, 0xee, 7, 0, 0, 0, 0xee, 0xee, 0xee, 0xee];
        string s = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 4, Cpus: 2, PerCpu: true), pretty: false), (K1, v));
        Assert.Equal("""[{"key":["0x01","0x00","0x00","0x00"],"values":[{"cpu":0,"value":["0x05","0x00","0x00","0x00"]},{"cpu":1,"value":["0x07","0x00","0x00","0x00"]}]}]""" + "\n", s);
    }

    [Fact]
    public void Json_per_cpu_aggregates_to_a_number()
    {
        byte[] v = [5, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
        foreach (var (mode, expected) in new[] { (PerCpuMode.Sum, "12"), (PerCpuMode.Min, "5"), (PerCpuMode.Max, "7"), (PerCpuMode.Avg, "6") })
        {
            string s = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 4, 2, true, false, mode), pretty: false), (K1, v));
            Assert.Equal(expected, JsonNode.Parse(s)![0]!["value"]!.ToJsonString());
        }
    }

    [Fact]
    public void Json_map_in_map_adds_inner_map_id()
    {
        string s = Render(o => new JsonEntryRenderer(o, new EntryLayout(4, 4, MapInMap: true), pretty: false), (K1, new byte[] { 0x1b, 0, 0, 0 }));
        Assert.Equal("""[{"key":["0x01","0x00","0x00","0x00"],"value":["0x1b","0x00","0x00","0x00"],"inner_map_id":27}]""" + "\n", s);
    }

    [Fact]
    public void Ndjson_is_one_entry_per_line()
    {
        string s = Render(o => new NdjsonEntryRenderer(o, new EntryLayout(4, 8)), (K1, V1), (K3, V3));
        string[] lines = s.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal("0x03", JsonNode.Parse(lines[1])!["key"]![0]!.GetValue<string>());
    }

    [Fact]
    public void Plain_matches_bpftools_one_line_layout_and_count()
    {
        string s = Render(o => new PlainEntryRenderer(o, new EntryLayout(4, 8)), (K1, V1), (K3, V3));
        Assert.Equal("key: 01 00 00 00  value: 02 00 00 00 00 00 00 00\nkey: 03 00 00 00  value: ff 00 00 00 00 00 00 01\nFound 2 elements\n", s);
        Assert.Equal("key: 01 00 00 00  value: 02 00 00 00 00 00 00 00\nFound 1 element\n", Render(o => new PlainEntryRenderer(o, new EntryLayout(4, 8)), (K1, V1)));
    }

    [Fact]
    public void Plain_prints_no_key_for_a_map_without_keys_as_bpftool()
        => Assert.Equal("value: 02 00 00 00\n", Render(o => new PlainEntryRenderer(o, new EntryLayout(0, 4), single: true), ([], new byte[] { 2, 0, 0, 0 })));

    [Fact]
    public void Plain_breaks_long_keys_into_lines_of_sixteen()
    {
        byte[] k = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();
        string s = Render(o => new PlainEntryRenderer(o, new EntryLayout(20, 4)), (k, new byte[] { 1, 2, 3, 4 }));
        Assert.Equal("key:\n01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10\n11 12 13 14\nvalue:\n01 02 03 04\nFound 1 element\n", s);
    }

    [Fact]
    public void Plain_per_cpu_prints_a_line_per_cpu()
    {
        byte[] v = new byte[32];
        v[0] = 5;
        v[16] = 5;
        string s = Render(o => new PlainEntryRenderer(o, new EntryLayout(4, 12, Cpus: 2, PerCpu: true)), (K1, v));
        Assert.Equal("key:\n01 00 00 00\nvalue (CPU 00): 05 00 00 00 00 00 00 00  00 00 00 00\nvalue (CPU 01): 05 00 00 00 00 00 00 00  00 00 00 00\nFound 1 element\n", s);
    }

    [Fact]
    public void Plain_lookup_has_no_count_line()
        => Assert.Equal("key: 01 00 00 00  value: 02 00 00 00 00 00 00 00\n", Render(o => new PlainEntryRenderer(o, new EntryLayout(4, 8), single: true), (K1, V1)));

    [Fact]
    public void Plain_map_in_map_shows_the_inner_map_id()
        => Assert.Equal("key: 01 00 00 00  inner_map_id: 27\nFound 1 element\n", Render(o => new PlainEntryRenderer(o, new EntryLayout(4, 4, MapInMap: true)), (K1, new byte[] { 27, 0, 0, 0 })));

    [Fact]
    public void Csv_has_a_header_hex_and_decimal_columns()
    {
        string s = Render(o => new CsvEntryRenderer(o, new EntryLayout(4, 8)), (K1, V1), (K3, V3));
        Assert.Equal("key,key_u,value,value_u\n01000000,1,0200000000000000,2\n03000000,3,ff00000000000001,72057594037928191\n", s);
    }

    [Fact]
    public void Csv_per_cpu_has_a_column_per_cpu_or_one_reduced_column()
    {
        byte[] v = [5, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal("key,key_u,cpu0,cpu1\n01000000,1,5,7\n", Render(o => new CsvEntryRenderer(o, new EntryLayout(4, 4, 2, true)), (K1, v)));
        Assert.Equal("key,key_u,value_avg\n01000000,1,6\n", Render(o => new CsvEntryRenderer(o, new EntryLayout(4, 4, 2, true, false, PerCpuMode.Avg)), (K1, v)));
    }

    [Fact]
    public void Table_shows_keys_values_and_count()
    {
        var ms = new MemoryStream();
        var console = new CliConsole(ms, new StringWriter(), false, false, width: 120);
        using (var r = new TableEntryRenderer(console.Out, new EntryLayout(4, 8), "hash map 7 'counts'"))
        {
            r.Begin();
            r.Entry(K1, V1);
            r.Entry(K3, V3);
            r.End(2);
        }

        string s = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains("hash map 7 'counts'", s);
        Assert.Contains("01 00 00 00", s);
        Assert.Contains("ff 00 00 00 00 00 00 01", s);
        Assert.Contains("72,057,594,037,928,191", s);
        Assert.Contains("2 entries", s);
    }

    [Fact]
    public void Table_streams_in_chunks()
    {
        var ms = new MemoryStream();
        var console = new CliConsole(ms, new StringWriter(), false, false, width: 120);
        using (var r = new TableEntryRenderer(console.Out, new EntryLayout(4, 8), null))
        {
            r.Begin();
            for (int i = 0; i < TableEntryRenderer.ChunkRows + 1; i++)
            {
                r.Entry(BitConverter.GetBytes(i), V1);
                if (i == TableEntryRenderer.ChunkRows - 1)
                {
                    Assert.True(ms.Length > 0, "the first chunk is written before the dump ends");
                }
            }

            r.End(TableEntryRenderer.ChunkRows + 1);
        }
    }

    private static MapDetails Details(string name = "counts", bool frozen = false, string[]? pinned = null, ObjectHolder[]? holders = null)
        => new(new MapInfo(MapType.PerCpuHash, 42, 4, 8, 1024, MapFlags.NoPrealloc, name, BtfId: 0), 2320, frozen, pinned ?? [], holders ?? []);

    private static string RenderInfo(Func<Stream, IMapInfoRenderer> make, bool single, params MapDetails[] maps)
    {
        var ms = new MemoryStream();
        make(ms).Render(maps, single);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    [Fact]
    public void Show_json_uses_bpftools_fields()
    {
        string s = RenderInfo(o => new JsonMapInfoRenderer(o, false), single: true, Details(frozen: true, pinned: ["/sys/fs/bpf/x"], holders: [new ObjectHolder(7, "agent")]));
        Assert.Equal("""{"id":42,"type":"percpu_hash","name":"counts","flags":1,"bytes_key":4,"bytes_value":8,"max_entries":1024,"bytes_memlock":2320,"frozen":1,"pinned":["/sys/fs/bpf/x"],"pids":[{"pid":7,"comm":"agent"}]}""" + "\n", s);
        Assert.StartsWith("[{", RenderInfo(o => new JsonMapInfoRenderer(o, false), single: false, Details()));
    }

    [Fact]
    public void Show_json_leaves_out_an_empty_name()
        => Assert.DoesNotContain("\"name\"", RenderInfo(o => new JsonMapInfoRenderer(o, false), true, Details(name: "")));

    [Fact]
    public void Show_plain_is_bpftools_two_lines()
    {
        string s = RenderInfo(o => new PlainMapInfoRenderer(o), false, Details(frozen: true));
        Assert.Equal("42: percpu_hash  name counts  flags 0x1\n\tkey 4B  value 8B  max_entries 1024  memlock 2320B\n\tfrozen\n", s);
    }

    [Fact]
    public void Show_ndjson_csv_and_table()
    {
        const string Line = """{"id":42,"type":"percpu_hash","name":"counts","flags":1,"bytes_key":4,"bytes_value":8,"max_entries":1024,"bytes_memlock":2320,"frozen":0}""";
        Assert.Equal(Line + "\n" + Line + "\n", RenderInfo(o => new NdjsonMapInfoRenderer(o), false, Details(), Details()));
        Assert.Equal(
            "id,type,name,flags,bytes_key,bytes_value,max_entries,bytes_memlock,frozen,btf_id,pinned,pids\n42,percpu_hash,counts,1,4,8,1024,2320,0,0,,\n",
            RenderInfo(o => new CsvMapInfoRenderer(o), false, Details()));
        var ms = new MemoryStream();
        new TableMapInfoRenderer(new CliConsole(ms, new StringWriter(), false, false, 140).Out).Render([Details()], false);
        string[] t = Encoding.UTF8.GetString(ms.ToArray()).Split('\n');
        string[][] rows = [.. t.Where(l => l.Contains('│')).Select(l => l.Split('│', StringSplitOptions.TrimEntries)[1..^1])];
        Assert.Equal(
            [["id", "type", "name", "key", "value", "max_entries", "memlock", "flags", "pinned / pids"], ["42", "percpu_hash", "counts", "4", "8", "1,024", "2,320", "0x1", ""]],
            rows);
        Assert.Contains("1 map", t.Last(l => l.Trim().Length > 0));
    }

    [Fact]
    public void Hex_grouping_matches_bpftool()
    {
        byte[] b = Enumerable.Range(0, 18).Select(i => (byte)i).ToArray();
        byte[] d = new byte[Hex.GroupedLength(b.Length)];
        int n = Hex.WriteGrouped(b, d);
        Assert.Equal("00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n10 11", Encoding.ASCII.GetString(d, 0, n));
    }
}
