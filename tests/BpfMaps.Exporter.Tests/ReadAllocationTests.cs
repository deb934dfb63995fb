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
        MapPlan plan = ExporterConfig.Compile(options).Maps[0];
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
}
