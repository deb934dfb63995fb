using System.Diagnostics;
using System.Runtime.InteropServices;
using BpfMaps.Btf;
using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>One map entry feeds several metrics: fields by offset or by BTF name, counters and gauges side by side, in dump and drain mode, on both outputs.</summary>
public sealed class StructValueTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Stats
    {
        public ulong Packets;
        public ulong Bytes;
        public uint Drops;
        public int LastErr;
    }

    private static void Put(BpfMap map, uint key, Stats v) => map.Update(BitConverter.GetBytes(key), MemoryMarshal.AsBytes(new ReadOnlySpan<Stats>(in v)));

    private static List<MetricOptions> ByOffset(bool drain) =>
    [
        new MetricOptions { Name = "if_packets", Kind = "counter", Offset = 0 },
        new MetricOptions { Name = "if_bytes", Kind = "counter", Offset = 8, Help = "Bytes." },
        new MetricOptions { Name = "if_drops", Kind = drain ? "counter" : "gauge", Type = "u32", Offset = 16 },
        new MetricOptions { Name = "if_last_err", Kind = drain ? "counter" : "gauge", Type = "i32", Offset = 20 },
    ];

    [Fact]
    public async Task Fields_by_offset_become_counters_and_gauges_side_by_side()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 24);
        Put(map, 1, new Stats { Packets = 10, Bytes = 1500, Drops = 2, LastErr = -22 });
        Put(map, 2, new Stats { Packets = 3, Bytes = 180, Drops = 0, LastErr = 0 });
        var options = new ExporterOptions { Maps = [new MapOptions { Map = $"id {map.Id}", Name = "ifs", Key = "u32", KeyLabel = "ifindex", Metrics = ByOffset(drain: false) }] };
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("ifs");
        Assert.Equal(10, s.Value("if_packets_total", ("ifindex", "1")));
        Assert.Equal(1500, s.Value("if_bytes_total", ("ifindex", "1")));
        Assert.Equal(2, s.Value("if_drops", ("ifindex", "1")));
        Assert.Equal(-22, s.Value("if_last_err", ("ifindex", "1")));
        Assert.Equal(180, s.Value("if_bytes_total", ("ifindex", "2")));
        Assert.Contains("# TYPE if_drops gauge", s.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE if_packets_total counter", s.Text, StringComparison.Ordinal);

        // A gauge may go down; the counters of the same entry go on.
        Put(map, 1, new Stats { Packets = 12, Bytes = 1600, Drops = 1, LastErr = 0 });
        s = await e.UntilAsync(x => x.Value("if_packets_total", ("ifindex", "1")) == 12, "the update");
        Assert.Equal((1600.0, 1.0, 0.0), (s.Value("if_bytes_total", ("ifindex", "1"))!.Value, s.Value("if_drops", ("ifindex", "1"))!.Value, s.Value("if_last_err", ("ifindex", "1"))!.Value));
    }

    [Fact]
    public async Task Drained_fields_each_add_to_their_counter()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 24);
        Put(map, 7, new Stats { Packets = 10, Bytes = 1000, Drops = 1, LastErr = 0 });
        var options = new ExporterOptions { Maps = [new MapOptions { Map = $"id {map.Id}", Name = "ifs", Mode = "drain", Key = "u32", Metrics = ByOffset(drain: true) }] };
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        await e.UntilAsync(x => x.Value("if_packets_total", ("key", "7")) == 10, "the first drain");
        Put(map, 7, new Stats { Packets = 5, Bytes = 500, Drops = 2, LastErr = -1 });
        Scrape s = await e.UntilAsync(x => x.Value("if_packets_total", ("key", "7")) == 15, "the second drain");
        Assert.Equal((1500.0, 3.0), (s.Value("if_bytes_total", ("key", "7"))!.Value, s.Value("if_drops_total", ("key", "7"))!.Value));

        // Negative deltas do not make a counter go down.
        Assert.Equal(0, s.Value("if_last_err_total", ("key", "7")));
    }

    /// <summary>A hash map whose value is struct stats { packets, bytes, drops, last_err } in BTF.</summary>
    private static BpfMap BtfStatsMap(int maxEntries = 64)
    {
        TestMaps.Require();
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint u64 = b.AddInt("unsigned long long", 8, isSigned: false);
        uint s32 = b.AddInt("int", 4, isSigned: true);
        uint value = b.AddStruct("stats", 24, ("packets", u64, 0), ("bytes", u64, 8), ("drops", u32, 16), ("last_err", s32, 20));
        using BtfObject btf = BtfObject.Load(b.Build());
        return BpfMap.Create(new MapSpec
        {
            Type = MapType.Hash, KeySize = 4, ValueSize = 24, MaxEntries = maxEntries, Name = TestMaps.UniqueName(),
            Btf = btf, BtfKeyTypeId = u32, BtfValueTypeId = value,
        });
    }

    [Fact]
    public async Task Btf_fields_and_offsets_mix_in_one_map_with_kinds_of_their_own()
    {
        using BpfMap map = BtfStatsMap();
        Put(map, 4, new Stats { Packets = 9, Bytes = 900, Drops = 3, LastErr = -5 });
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "st", "labels": [ { "name": "queue", "type": "u32" } ],
              "metrics": [ { "field": "packets", "kind": "counter" }, "drops", { "name": "st_err_raw", "type": "i32", "offset": 20 } ] } ] }
            """);
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("st");
        Assert.Equal(9, s.Value("st_packets_total", ("queue", "4")));
        Assert.Equal(3, s.Value("st_drops", ("queue", "4")));
        Assert.Equal(-5, s.Value("st_err_raw", ("queue", "4")));
        Assert.Empty(s.Find("st_bytes"));
    }

    [Fact]
    public async Task Two_metrics_of_one_map_published_under_one_name_are_one_line()
    {
        using BpfMap map = BtfStatsMap();
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "st", "key": "u32",
              "metrics": [ "packets", { "name": "st_packets", "offset": 8 } ] } ] }
            """);
        var errors = new StringWriter();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        Assert.Equal(2, await ExporterHost.RunAsync(options, errors, deadline.Token));
        string line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("bpfmap export: maps[0].metrics: two metrics of maps[0] are published as st_packets; give them distinct names", line);
    }

    [Fact]
    public async Task A_zero_config_struct_map_over_otlp_is_bounded_by_max_series_not_opentelemetrys_default()
    {
        // OpenTelemetry keeps at most 2000 points per metric unless a view says otherwise; the names of a
        // zero-config map are known only once the map is open.
        const int keys = 2500;
        using BpfMap map = BtfStatsMap(keys);
        for (uint k = 0; k < keys; k++)
        {
            Put(map, k, new Stats { Packets = k + 1, Bytes = 1, Drops = 0, LastErr = 0 });
        }

        await using var receiver = new OtlpReceiver();
        var options = new ExporterOptions
        {
            Listen = "",
            Interval = "100ms",
            OtlpEndpoint = receiver.Endpoint,
            OtlpProtocol = "http",
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "zc" }],
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var log = new StringWriter();
        CancellationToken token = stop.Token;
        Task<int> run = Task.Run(() => ExporterHost.RunAsync(options, TextWriter.Synchronized(log), token), TestContext.Current.CancellationToken);
        var clock = Stopwatch.StartNew();
        while (!receiver.Received("zc_packets") && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.True(receiver.Received("zc_packets"), $"no push with zc_packets; log: {log}");
        Assert.False(receiver.Received("otel.metric.overflow"), "OpenTelemetry's cardinality limit folded series into the overflow point");
    }
}
