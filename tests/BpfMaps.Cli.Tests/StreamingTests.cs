using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Watch;

namespace BpfMaps.Cli.Tests;

/// <summary>Dumps stream batch by batch; watch renderers on their own.</summary>
public class StreamingTests
{
    private sealed class BatchTrackingRenderer(Func<long> batches) : IEntryRenderer
    {
        public List<long> BatchAtEntry { get; } = [];

        public void Begin()
        {
        }

        public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => BatchAtEntry.Add(batches());

        public void End(long count)
        {
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void Entries_are_rendered_while_the_map_is_still_being_read()
    {
        Kernel.Require();
        const int n = 3 * DumpOptions.DefaultBatchSize;
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = n, Name = "stream_t" });
        BenchMaps.FillU64(m, n);
        long batches = 0;
        var r = new BatchTrackingRenderer(() => batches);
        long written = DumpPipeline.RunCore(m, drain: false, r, new EntryLayout(4, 8), new GlobalOptions(), _ => batches++);
        Assert.Equal(n, written);
        Assert.Equal(0, r.BatchAtEntry[0]);
        Assert.True(r.BatchAtEntry[^1] >= 2, "the last entries are rendered after earlier batches were finished");
    }

    [Fact]
    public void A_dump_that_reads_ahead_renders_every_entry_in_the_kernels_order()
    {
        Kernel.Require();
        const int n = 20 * DumpOptions.DefaultBatchSize;
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = n, Name = "stream_ahead" });
        BenchMaps.FillU64(m, n);
        Assert.Equal(Environment.ProcessorCount > 1, BatchReadAhead.Worthwhile(m));
        var expected = new List<uint>();
        foreach (MapEntry e in m.Dump())
        {
            expected.Add(MemoryMarshal.Read<uint>(e.Key));
        }

        var ms = new MemoryStream();
        using (var r = new JsonEntryRenderer(ms, new EntryLayout(4, 8), pretty: false))
        {
            Assert.Equal(n, DumpPipeline.RunCore(m, false, r, new EntryLayout(4, 8), new GlobalOptions(), null));
        }

        uint[] keys = [.. JsonNode.Parse(Encoding.UTF8.GetString(ms.ToArray()))!.AsArray()
            .Select(x => MemoryMarshal.Read<uint>(x!["key"]!.AsArray().Select(b => Convert.ToByte(b!.GetValue<string>(), 16)).ToArray()))];
        Assert.Equal(expected, keys);
    }

    [Fact]
    public void A_json_dump_with_btf_allocates_nothing_per_entry()
    {
        Kernel.Require();
        long Allocated(int n)
        {
            using BpfMap m = BenchMaps.CreateFlows(n);
            EntryLayout layout = EntryLayout.Of(m, PerCpuMode.EachCpu);
            Dump();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Dump();
            return GC.GetAllocatedBytesForCurrentThread() - before;

            void Dump()
            {
                using var r = new JsonEntryRenderer(Stream.Null, layout, pretty: false);
                Assert.Equal(n, DumpPipeline.RunCore(m, false, r, layout, new GlobalOptions(), null));
            }
        }

        long small = Allocated(10_000), large = Allocated(50_000);

        // The renderer's buffer, the enumerator and the read-ahead thread are per dump, not per entry.
        Assert.True(large - small < 4096, $"10,000 entries allocated {small:N0} B and 50,000 allocated {large:N0} B");
    }

    [Fact]
    public void Sorting_holds_entries_but_top_keeps_only_the_best()
    {
        Kernel.Require();
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 5000, Name = "stream_top" });
        BenchMaps.FillU64(m, 5000);
        var ms = new MemoryStream();
        using (var r = new NdjsonEntryRenderer(ms, new EntryLayout(4, 8)))
        {
            DumpPipeline.RunCore(m, false, r, new EntryLayout(4, 8), new GlobalOptions { Top = 3 }, null);
        }

        string[] lines = Encoding.UTF8.GetString(ms.ToArray()).TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        byte[] firstKey = JsonNode.Parse(lines[0])!["key"]!.AsArray().Select(b => Convert.ToByte(b!.GetValue<string>(), 16)).ToArray();
        Assert.Equal(4999u, MemoryMarshal.Read<uint>(firstKey));
    }

    private static WatchFrame Frame() => new(3, 1, 2, 2, 150, 50, 50, [new WatchRow([7, 0, 0, 0], 100, 40, 40), new WatchRow([9, 0, 0, 0], 50, 10, 10)]);

    [Fact]
    public void Watch_json_renderer_writes_one_object_per_tick()
    {
        var ms = new MemoryStream();
        new JsonWatchRenderer(ms).Frame(Frame());
        JsonNode f = JsonNode.Parse(Encoding.UTF8.GetString(ms.ToArray()))!;
        Assert.Equal(3, f["tick"]!.GetValue<int>());
        Assert.Equal("07000000", f["top"]![0]!["key"]!.GetValue<string>());
        Assert.Equal(40, f["top"]![0]!["rate"]!.GetValue<double>());
    }

    [Fact]
    public void Watch_plain_renderer_lists_top_keys()
    {
        var ms = new MemoryStream();
        new PlainWatchRenderer(ms, numericKeys: true).Frame(Frame());
        string s = Encoding.UTF8.GetString(ms.ToArray());
        Assert.StartsWith("tick 3: entries 2 keys 2 total 150 delta 50 rate 50.0/s\n  key 7  value 100  delta 40  rate 40.0/s\n", s);
    }

    [Fact]
    public void Watch_table_has_rates_and_totals()
    {
        var ms = new MemoryStream();
        new CliConsole(ms, new StringWriter(), false, false, 120).Out.Write(WatchTable.Build("hash map 1 'x'", Frame(), numericKeys: false));
        string s = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains("07 00 00 00", s);
        Assert.Contains("rate/s", s);
        Assert.Contains("tick 3", s);
        Assert.Contains("total 150", s);
    }
}
