using BpfMaps.Exporter.Reading;
using BpfMaps.Exporter.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace BpfMaps.Exporter.Tests;

/// <summary><c>maxSeries</c> bounds the keys a read publishes, not the keys the previous read left behind.</summary>
public sealed class SeriesLimitTests
{
    private static async Task<Scrape> ReadAndScrapeAsync(MapExport export, ExporterMetrics self)
    {
        export.Read();
        using var text = new MemoryStream();
        await self.Registry!.CollectAndExportAsTextAsync(text, TestContext.Current.CancellationToken);
        return new Scrape(System.Text.Encoding.UTF8.GetString(text.ToArray()));
    }

    /// <summary>One map read with maxSeries 4, straight into a prometheus-net registry.</summary>
    private sealed class LimitedTo4 : IDisposable
    {
        public LimitedTo4(BpfMap map)
        {
            var options = new ExporterOptions
            {
                Listen = "127.0.0.1:1",
                MaxSeries = 4,
                Maps = [new MapOptions { Map = $"id {map.Id}", Name = "limit", Key = "u32", Metrics = [new MetricOptions { Name = "limit_value" }] }],
            };
            Self = new ExporterMetrics(prometheus: true, otel: false, []);
            Export = new MapExport(PlanCompiler.Compile(options).Maps[0], options.MaxSeries, Self, NullLogger.Instance);
        }

        public ExporterMetrics Self { get; }

        public MapExport Export { get; }

        public void Dispose()
        {
            Export.Dispose();
            Self.Dispose();
        }
    }

    private static List<string> Keys(Scrape s) => s.Find("limit_value").Select(x => x.Labels["key"]).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task A_map_whose_keys_all_change_at_the_limit_publishes_the_new_keys_and_drops_none()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        using var limited = new LimitedTo4(map);
        (ExporterMetrics self, MapExport export) = (limited.Self, limited.Export);
        for (uint k = 1; k <= 4; k++)
        {
            map.Update(BitConverter.GetBytes(k), BitConverter.GetBytes((ulong)k));
        }

        Scrape s = await ReadAndScrapeAsync(export, self);
        Assert.Equal(["1", "2", "3", "4"], Keys(s));

        // Every flow ends and four new ones start: the map never holds more than maxSeries keys.
        for (uint k = 1; k <= 4; k++)
        {
            Assert.True(map.Delete(BitConverter.GetBytes(k)));
            map.Update(BitConverter.GetBytes(k + 4), BitConverter.GetBytes((ulong)k + 4));
        }

        s = await ReadAndScrapeAsync(export, self);
        Assert.Equal(["5", "6", "7", "8"], Keys(s));
        Assert.Equal(4, s.Value("bpfmap_exporter_map_entries", ("map", "limit")));
        Assert.Null(s.Value("bpfmap_exporter_dropped_entries_total", ("map", "limit")));
    }

    [Fact]
    public async Task A_dump_never_publishes_more_than_maxSeries_keys()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        using var limited = new LimitedTo4(map);
        (ExporterMetrics self, MapExport export) = (limited.Self, limited.Export);
        for (uint k = 1; k <= 4; k++)
        {
            map.Update(BitConverter.GetBytes(k), BitConverter.GetBytes((ulong)k));
        }

        Assert.Equal(4, Keys(await ReadAndScrapeAsync(export, self)).Count);
        for (uint k = 5; k <= 10; k++)
        {
            map.Update(BitConverter.GetBytes(k), BitConverter.GetBytes((ulong)k));
        }

        Scrape s = await ReadAndScrapeAsync(export, self);
        Assert.Equal(4, Keys(s).Count);
        Assert.Equal(6, s.Value("bpfmap_exporter_dropped_entries_total", ("map", "limit")));
        Assert.Equal(10, s.Value("bpfmap_exporter_map_entries", ("map", "limit")));
    }
}
