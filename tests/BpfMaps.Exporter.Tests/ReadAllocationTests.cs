using System.Diagnostics;
using BpfMaps.Exporter.Reading;
using BpfMaps.Exporter.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace BpfMaps.Exporter.Tests;

/// <summary>A read cycle over keys the exporter already knows allocates the same whatever the map's size.</summary>
public sealed class ReadAllocationTests
{
    [Theory]
    [InlineData(MapType.Hash, "dump")]
    [InlineData(MapType.PerCpuHash, "dump")]
    [InlineData(MapType.Hash, "drain")]
    public void Reading_allocates_nothing_per_entry(MapType type, string mode)
    {
        long few = BytesPerRead(type, mode, entries: 16);
        long many = BytesPerRead(type, mode, entries: 4000);
        TestContext.Current.TestOutputHelper?.WriteLine($"{type} {mode}: 16 entries {few} bytes, 4000 entries {many} bytes");
        Assert.True(many - few < 512, $"a read of 4000 entries allocated {many} bytes, of 16 entries {few}");
    }

    private static long BytesPerRead(MapType type, string mode, int entries)
    {
        using BpfMap map = TestMaps.Create(type, 4, 8, maxEntries: 4096);
        byte[] value = new byte[map.ValueBufferSize];
        void Fill()
        {
            for (uint k = 0; k < entries; k++)
            {
                BitConverter.TryWriteBytes(value, (ulong)k + 1);
                map.Update(BitConverter.GetBytes(k), value);
            }
        }

        var options = new ExporterOptions
        {
            Listen = "",
            Maps = [new MapOptions { Map = $"id {map.Id}", Mode = mode, Key = "u32", Metrics = [new MetricOptions { Name = "alloc_test", PerCpu = type == MapType.PerCpuHash ? "cpu" : null }] }],
        };
        MapPlan plan = PlanCompiler.Compile(options).Maps[0];
        using var self = new ExporterMetrics(prometheus: true, otel: true, []);
        using var export = new MapExport(plan, 100_000, self, NullLogger.Instance);
        for (int warm = 0; warm < 3; warm++)
        {
            Fill();
            export.Read();
        }

        Fill();
        long before = GC.GetAllocatedBytesForCurrentThread();
        export.Read();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(entries, export.Entries);
        return allocated;
    }

    /// <summary>
    /// 100,000 entries either way: a counter map of 100,000 keys, and a histogram map of 4,000 label sets with 25
    /// buckets each. Reading and publishing the histogram allocates no more than the counters, which allocate
    /// nothing per entry; writing its 4,000 series for a scrape allocates nothing per series either.
    /// </summary>
    [Theory]
    [InlineData("dump")]
    [InlineData("drain")]
    public void A_100k_entry_histogram_allocates_no_more_per_read_than_the_counter_path(string mode)
    {
        const int labelSets = 4000, buckets = 25, entries = labelSets * buckets;
        using BpfMap counters = TestMaps.Create(MapType.Hash, 4, 8, maxEntries: entries);
        var counterKeys = Enumerable.Range(0, entries).Select(i => (uint)i).ToArray();
        var counterValues = counterKeys.Select(k => (ulong)k + 1).ToArray();
        using BpfMap histogram = TestMaps.Create(MapType.Hash, 8, 8, maxEntries: entries);
        var histogramKeys = Enumerable.Range(0, entries).Select(i => (ulong)(uint)(i / buckets) | ((ulong)(i % buckets) << 32)).ToArray();
        var histogramValues = histogramKeys.Select(k => (k >> 32) + 1).ToArray();

        (long counterBytes, TimeSpan counterTime) = Measure(
            () => new BpfMap<uint, ulong>(counters).UpdateBatch(counterKeys, counterValues),
            new MapOptions { Map = $"id {counters.Id}", Mode = mode, Key = "u32", Metrics = [new MetricOptions { Name = "alloc_counter", Kind = "counter" }] },
            entries,
            scrape: null);
        long scrapeBytes = 0;
        (long histogramBytes, TimeSpan histogramTime) = Measure(
            () => new BpfMap<ulong, ulong>(histogram).UpdateBatch(histogramKeys, histogramValues),
            new MapOptions
            {
                Map = $"id {histogram.Id}",
                Mode = mode,
                Labels = [new LabelOptions { Name = "set", Type = "u32" }],
                Histogram = new HistogramOptions { Name = "alloc_histogram", BucketType = "exp2", BucketMax = buckets - 1, Bucket = new HistogramFieldOptions { Offset = 4, Size = 4 } },
            },
            entries,
            scrape: export =>
            {
                // A scrape writes every series; the buffer is pooled, so a second scrape allocates (about) nothing.
                using var text = new PooledBufferWriter();
                export.WriteHistogramText(text);
                text.Clear();
                long before = GC.GetAllocatedBytesForCurrentThread();
                export.WriteHistogramText(text);
                scrapeBytes = GC.GetAllocatedBytesForCurrentThread() - before;
                Assert.True(text.Length > labelSets * (buckets + 3) * 30, $"{text.Length} bytes of text");
            });

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{mode}, {entries:N0} entries: counters {counterBytes} bytes and {counterTime.TotalMilliseconds:F0} ms per read; " +
            $"histogram ({labelSets:N0} series) {histogramBytes} bytes and {histogramTime.TotalMilliseconds:F0} ms per read; scrape text {scrapeBytes} bytes");
        Assert.True(histogramBytes <= counterBytes + 256, $"a histogram read allocated {histogramBytes} bytes, a counter read {counterBytes}");
        Assert.True(histogramBytes < 2048, $"a histogram read of {entries} entries allocated {histogramBytes} bytes");
        Assert.True(scrapeBytes < 2048, $"writing {labelSets} histogram series allocated {scrapeBytes} bytes");
    }

    private static (long Bytes, TimeSpan Time) Measure(Action fill, MapOptions map, int entries, Action<MapExport>? scrape)
    {
        map.Name = "alloc";
        var options = new ExporterOptions { Listen = "", Maps = [map] };
        using var self = new ExporterMetrics(prometheus: true, otel: true, []);
        using var export = new MapExport(PlanCompiler.Compile(options).Maps[0], 1_000_000, self, NullLogger.Instance);
        export.OpenAtStartup();
        for (int warm = 0; warm < 2; warm++)
        {
            fill();
            export.Read();
        }

        fill();
        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        export.Read();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        clock.Stop();
        Assert.True(export.Up, "the read failed");
        Assert.Equal(entries, export.Entries);
        scrape?.Invoke(export);
        return (allocated, clock.Elapsed);
    }
}
