using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Watch;
using BpfMaps.Tests.Common;

namespace BpfMaps.Cli.Tests;

/// <summary>Dumps stream batch by batch; watch renderers on their own.</summary>
public class StreamingTests
{
    private sealed class BatchTrackingRenderer(Func<long> batches) : IEntryRenderer
    {
        public List<long> BatchAtEntry { get; } = [];

        public List<(uint Key, ulong Value)> Entries { get; } = [];

        public void Begin()
        {
        }

        public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            BatchAtEntry.Add(batches());
            Entries.Add((MemoryMarshal.Read<uint>(key), MemoryMarshal.Read<ulong>(value)));
        }

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

        // Every key once, with its own value (FillU64 writes key * 3).
        Assert.Equal(Enumerable.Range(0, n).Select(k => ((uint)k, (ulong)k * 3)), r.Entries.Order());
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
        const int Small = 10_000, Large = 50_000;
        long small = Allocated(Small), large = Allocated(Large);

        // The renderer's buffer, the enumerator and the read-ahead thread are per dump, not per entry, so
        // 40,000 more entries may cost at most 0.1 B each (a per-entry allocation is 24 B or more).
        double perEntry = (double)(large - small) / (Large - Small);
        Assert.True(large - small < 4096, $"{Small:N0} entries allocated {small:N0} B and {Large:N0} allocated {large:N0} B: {perEntry:F3} B per entry");

        static long Allocated(int n)
        {
            using BpfMap m = BenchMaps.CreateFlows(n);
            EntryLayout layout = EntryLayout.Of(m, PerCpuMode.EachCpu);
            Dump(m, layout, n);

            // A dump during which a garbage collection ran counts 7.4 to 8 KB more on this thread than one
            // without, whatever the map's size (each dump allocates a 1 MiB output buffer, so collections are
            // frequent): 10,000 entries once measured 1,050,648 B and 50,000 1,058,064 B. The read-ahead
            // thread's allocations are not counted here; MapEnumerator's are tested in BpfMaps.Tests.
            return ThreadAllocation.Measure(() => Dump(m, layout, n));
        }

        static void Dump(BpfMap m, EntryLayout layout, int n)
        {
            using var r = new JsonEntryRenderer(Stream.Null, layout, pretty: false);
            Assert.Equal(n, DumpPipeline.RunCore(m, false, r, layout, new GlobalOptions(), null));
        }
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

        // The three largest values (FillU64 writes key * 3), largest first, each with its key and nothing else.
        string[] lines = Encoding.UTF8.GetString(ms.ToArray()).TrimEnd().Split('\n');
        (uint, ulong)[] top = [.. lines.Select(l =>
        {
            JsonObject o = JsonNode.Parse(l)!.AsObject();
            Assert.Equal(["key", "value"], o.Select(p => p.Key));
            return (MemoryMarshal.Read<uint>(Bytes(o["key"]!)), MemoryMarshal.Read<ulong>(Bytes(o["value"]!)));
        })];
        Assert.Equal([(4999u, 14997UL), (4998u, 14994UL), (4997u, 14991UL)], top);

        static byte[] Bytes(JsonNode hex) => [.. hex.AsArray().Select(b => Convert.ToByte(b!.GetValue<string>(), 16))];
    }

    private static WatchFrame Frame() => new(3, 1, 2, 2, 150, 50, 50, [new WatchRow([7, 0, 0, 0], 100, 40, 40), new WatchRow([9, 0, 0, 0], 50, 10, 10)]);

    [Fact]
    public void Watch_json_renderer_writes_one_object_per_tick()
    {
        var ms = new MemoryStream();
        new JsonWatchRenderer(ms).Frame(Frame());
        Assert.Equal(
            "{\"tick\":3,\"elapsed\":1,\"entries\":2,\"keys\":2,\"total\":150,\"delta\":50,\"rate\":50,\"top\":["
            + "{\"key\":\"07000000\",\"value\":100,\"delta\":40,\"rate\":40},{\"key\":\"09000000\",\"value\":50,\"delta\":10,\"rate\":10}]}\n",
            Encoding.UTF8.GetString(ms.ToArray()));
    }

    [Fact]
    public void Watch_plain_renderer_lists_top_keys()
    {
        var ms = new MemoryStream();
        new PlainWatchRenderer(ms, numericKeys: true).Frame(Frame());
        string s = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Equal("tick 3: entries 2 keys 2 total 150 delta 50 rate 50.0/s\n  key 7  value 100  delta 40  rate 40.0/s\n  key 9  value 50  delta 10  rate 10.0/s\n", s);
    }

    [Fact]
    public void Watch_table_has_rates_and_totals()
    {
        var ms = new MemoryStream();
        new CliConsole(ms, new StringWriter(), false, false, 120).Out.Write(WatchTable.Build("hash map 1 'x'", Frame(), numericKeys: false));
        string[] lines = Encoding.UTF8.GetString(ms.ToArray()).Split('\n');

        // The cells of each row between the table's borders: the header, then the rows in the frame's order.
        string[][] rows = [.. lines.Where(l => l.Contains('│')).Select(l => l.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];
        Assert.Equal([["key", "value", "delta", "rate/s"], ["07 00 00 00", "100", "40", "40"], ["09 00 00 00", "50", "10", "10"]], rows);
        Assert.Equal("hash map 1 'x'", lines.First(l => l.Trim().Length > 0).Trim());

        // The caption under the table, wrapped to the table's width.
        string caption = string.Join(' ', lines.SkipWhile(l => !l.Contains('╰')).Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0));
        Assert.Equal("tick 3 entries 2 keys 2 total 150 +50 (50/s)", System.Text.RegularExpressions.Regex.Replace(caption, " +", " "));
    }
}
