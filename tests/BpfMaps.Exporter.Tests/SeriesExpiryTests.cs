using BpfMaps.Exporter.Reading;
using BpfMaps.Exporter.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace BpfMaps.Exporter.Tests;

/// <summary>maxSeries is a hard bound, even while a read is under way; expireAfter keeps memory bounded under churning keys.</summary>
public sealed class SeriesExpiryTests
{
    private static (ExporterMetrics Self, MapExport Export) Export(BpfMap map, int maxSeries, string mode, string? expire)
    {
        var options = new ExporterOptions
        {
            Listen = "127.0.0.1:1",
            MaxSeries = maxSeries,
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "churn", Mode = mode, Key = "u32", ExpireAfter = expire, Metrics = [new MetricOptions { Name = "churn_value" }] }],
        };
        var self = new ExporterMetrics(prometheus: true, otel: false, []);
        return (self, new MapExport(PlanCompiler.Compile(options).Maps[0], options.MaxSeries, self, NullLogger.Instance));
    }

    private static void Fill(BpfMap map, uint first, int count)
    {
        uint[] keys = Enumerable.Range(0, count).Select(i => first + (uint)i).ToArray();
        ulong[] values = keys.Select(k => (ulong)k + 1).ToArray();
        new BpfMap<uint, ulong>(map).UpdateBatch(keys, values);
    }

    private static int Published(ExporterMetrics self, string name = "churn_value")
    {
        using var text = new MemoryStream();
        self.Registry!.CollectAndExportAsTextAsync(text, TestContext.Current.CancellationToken).GetAwaiter().GetResult();
        return new Scrape(System.Text.Encoding.UTF8.GetString(text.ToArray())).Find(name).Count;
    }

    [Fact]
    public async Task A_scrape_during_a_read_never_sees_more_than_max_series()
    {
        const int limit = 1000;
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8, maxEntries: 2 * limit);
        (ExporterMetrics self, MapExport export) = Export(map, limit, "dump", null);
        using (self)
        using (export)
        {
            int most = 0;
            using var stop = new CancellationTokenSource();
            var scraper = Task.Run(
                () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        most = Math.Max(most, Published(self));
                    }
                },
                TestContext.Current.CancellationToken);

            for (int round = 0; round < 60; round++)
            {
                // Every key changes between reads: the old keys leave as many new ones come.
                foreach (MapEntry _ in map.Drain())
                {
                }

                Fill(map, (uint)(round * limit), limit);
                export.Read();
            }

            await stop.CancelAsync();
            await scraper;
            Assert.InRange(most, 1, limit);
            Assert.Equal(limit, Published(self));
        }
    }

    [Fact]
    public void Drained_series_expire_so_memory_stays_bounded_under_churn()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8, maxEntries: 512);
        (ExporterMetrics self, MapExport export) = Export(map, 100_000, "drain", "50ms");
        using (self)
        using (export)
        {
            export.Read();
            long before = GC.GetTotalMemory(forceFullCollection: true);
            int most = 0;
            for (int round = 0; round < 300; round++)
            {
                // 200 keys never seen before, every round: without expiry that is 60,000 series.
                Fill(map, (uint)(round * 200), 200);
                export.Read();
                most = Math.Max(most, export.SeriesCount);
                Thread.Sleep(2);
            }

            Thread.Sleep(80);
            export.Read();
            long grown = GC.GetTotalMemory(forceFullCollection: true) - before;
            Assert.Equal(0, export.SeriesCount);
            Assert.True(most < 20_000, $"{most} series at once");
            Assert.True(grown < 16 << 20, $"managed memory grew by {grown:N0} bytes");
        }
    }

    [Fact]
    public void Without_expiry_drained_series_stay_up_to_the_limit()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8, maxEntries: 512);
        (ExporterMetrics self, MapExport export) = Export(map, 1_000, "drain", "never");
        using (self)
        using (export)
        {
            for (int round = 0; round < 10; round++)
            {
                Fill(map, (uint)(round * 200), 200);
                export.Read();
            }

            Assert.Equal(1_000, export.SeriesCount);
            Assert.Equal(1_000, Published(self, "churn_value_total"));
        }
    }

    [Fact]
    public void A_dump_series_lingers_for_expire_after_then_goes()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        (ExporterMetrics self, MapExport export) = Export(map, 100, "dump", "200ms");
        using (self)
        using (export)
        {
            Fill(map, 1, 2);
            export.Read();
            Assert.True(map.Delete(BitConverter.GetBytes(2u)));
            export.Read();
            Assert.Equal(2, Published(self));
            Thread.Sleep(250);
            export.Read();
            Assert.Equal(1, Published(self));
        }
    }

    [Theory]
    [InlineData("dump", null)]
    [InlineData("dump", "300ms")]
    [InlineData("drain", "300ms")]
    [InlineData("drain", "never")]
    public void Series_of_a_map_that_is_gone_go_as_keys_that_were_not_read(string mode, string? expire)
    {
        TestMaps.Require();
        string pin = $"/sys/fs/bpf/{TestMaps.UniqueName()}";
        using (BpfMap map = TestMaps.Create(MapType.Hash, 4, 8))
        {
            Fill(map, 1, 2);
            map.Pin(pin);
        }

        try
        {
            var options = new ExporterOptions
            {
                Listen = "127.0.0.1:1",
                Maps = [new MapOptions { Map = $"pinned {pin}", Name = "gone", Mode = mode, Key = "u32", ExpireAfter = expire, Metrics = [new MetricOptions { Name = "gone_value" }] }],
            };
            string name = mode == "drain" ? "gone_value_total" : "gone_value";
            using var self = new ExporterMetrics(prometheus: true, otel: false, []);
            using var export = new MapExport(PlanCompiler.Compile(options).Maps[0], 100, self, NullLogger.Instance);
            export.Read();
            Assert.Equal(2, Published(self, name));

            File.Delete(pin);
            export.Read();
            Assert.False(export.Up);
            int expected = mode == "dump" && expire is null ? 0 : 2;
            Assert.Equal(expected, Published(self, name));
            Thread.Sleep(350);
            export.Read();
            Assert.Equal(expire is "never" ? 2 : 0, Published(self, name));
        }
        finally
        {
            File.Delete(pin);
        }
    }

    [Theory]
    [InlineData("dump", "never", "maps[0].expireAfter: 'never' is not a duration such as 30s, 10m or 2h, or 0")]
    [InlineData("drain", "0", "maps[0].expireAfter: '0' is not a duration such as 30s, 10m or 2h, or never")]
    [InlineData("drain", "8d", "maps[0].expireAfter: '8d' is not a duration")]
    public void Bad_expiry_values_name_the_field(string mode, string expire, string expected)
    {
        var options = new ExporterOptions { Maps = [new MapOptions { Map = "id 1", Mode = mode, Key = "u32", ExpireAfter = expire, Metrics = [new MetricOptions { Name = "x" }] }] };
        var e = Assert.Throws<ExporterConfigException>(() => PlanCompiler.Compile(options));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }
}
