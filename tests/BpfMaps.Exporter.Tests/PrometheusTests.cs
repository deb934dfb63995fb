using BpfMaps.Exporter.Tests.Infrastructure;
using BpfMaps.Programs;

namespace BpfMaps.Exporter.Tests;

/// <summary>
/// A real Prometheus scrapes the exporter: what BPF programs put into maps is what PromQL sees. Skipped, with the
/// reason, where Prometheus is not installed (scripts/setup.sh installs it; BPFMAPS_PROMETHEUS names another binary).
/// </summary>
public sealed class PrometheusTests
{
    private static void RequirePrometheus()
    {
        TestMaps.Require();
        if (PrometheusServer.WhyUnavailable() is { } why)
        {
            Assert.Skip(why);
        }
    }

    [Fact]
    public async Task Prometheus_sees_the_counts_bpf_programs_made_and_the_exporters_own_metrics()
    {
        RequirePrometheus();
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        using BpfProgram writer = CounterProgram.Load(map, new CounterProgramOptions { KeySource = CounterKeySource.PacketData, ProgramType = ProgramType.Xdp });
        writer.TestRun(CounterProgram.CreatePacket(1), repeat: 100);
        writer.TestRun(CounterProgram.CreatePacket(2), repeat: 250);
        writer.TestRun(CounterProgram.CreatePacket(3), repeat: 7);
        var options = new ExporterOptions
        {
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "runs", Key = "u32", Metrics = [new MetricOptions { Name = "bpf_runs", Kind = "counter", Help = "Test runs by key." }] }],
        };

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(e.Port);
        Assert.Equal(1, await prometheus.ValueAsync($"up{{job=\"{PrometheusServer.Job}\"}}", v => v == 1));
        Assert.Equal(100, await prometheus.ValueAsync("bpf_runs_total{key=\"1\"}"));
        Assert.Equal(250, await prometheus.ValueAsync("bpf_runs_total{key=\"2\"}"));
        Assert.Equal(7, await prometheus.ValueAsync("bpf_runs_total{key=\"3\"}"));
        Assert.Equal(RunningExporter.Host, (await prometheus.QueryAsync("bpf_runs_total{key=\"3\"}"))[0].Labels["host"]);

        // More runs: the next scrapes carry them.
        writer.TestRun(CounterProgram.CreatePacket(1), repeat: 50);
        Assert.Equal(150, await prometheus.ValueAsync("bpf_runs_total{key=\"1\"}", v => v == 150));

        // The exporter's own metrics.
        Assert.Equal(1, await prometheus.ValueAsync("bpfmap_exporter_map_up{map=\"runs\"}"));
        Assert.Equal(3, await prometheus.ValueAsync("bpfmap_exporter_map_entries{map=\"runs\"}"));
        Assert.True(await prometheus.ValueAsync("bpfmap_exporter_reads_total{map=\"runs\"}") >= 1);
        await prometheus.UntilAsync("bpfmap_exporter_dropped_entries_total", r => r.Count == 0, "no dropped entries series (nothing was dropped)");
    }

    [Fact]
    public async Task Histogram_quantile_count_and_sum_come_out_of_an_exp2_map_filled_by_a_bpf_program()
    {
        RequirePrometheus();
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        using BpfProgram writer = Exp2HistogramProgram.Load(map, new Exp2HistogramProgramOptions { Value = Exp2HistogramValue.PacketValue, MaxBucket = 20 });

        // Values in microseconds: 10 in (2, 4], 30 in (4, 8], 10 in (64, 128].
        writer.TestRun(Exp2HistogramProgram.CreatePacket(3), repeat: 10);
        writer.TestRun(Exp2HistogramProgram.CreatePacket(6), repeat: 30);
        writer.TestRun(Exp2HistogramProgram.CreatePacket(100), repeat: 10);
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "lat",
                          "histogram": { "name": "op_latency_seconds", "bucketType": "exp2", "bucketMax": 20, "overflow": "max",
                                         "sum": { "key": 21 }, "multiplier": 1e-6 } } ] }
            """);

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(e.Port);
        Assert.Equal(50, await prometheus.ValueAsync("op_latency_seconds_count"));

        // Rank 25 of 50 is the 15th of the 30 in (4, 8] µs: 4 + 4 · 15/30 = 6 µs.
        Assert.Equal(6e-6, await prometheus.ValueAsync("histogram_quantile(0.5, op_latency_seconds_bucket)"), 12);

        // Rank 45 is the 5th of the 10 in (64, 128] µs: 96 µs.
        Assert.Equal(96e-6, await prometheus.ValueAsync("histogram_quantile(0.9, op_latency_seconds_bucket)"), 12);
        Assert.Equal((3 * 10 + 6 * 30 + 100 * 10) * 1e-6, await prometheus.ValueAsync("op_latency_seconds_sum"), 12);

        // Later observations move the quantile: 50 more in (64, 128] µs make the median 64 + 64 · 10/60.
        writer.TestRun(Exp2HistogramProgram.CreatePacket(100), repeat: 50);
        Assert.Equal(100, await prometheus.ValueAsync("op_latency_seconds_count", v => v == 100));
        Assert.Equal((64 + (64 * 10.0 / 60)) * 1e-6, await prometheus.ValueAsync("histogram_quantile(0.5, op_latency_seconds_bucket)"), 12);
    }

    /// <summary>The README's latency example, with its configuration and its query.</summary>
    [Fact]
    public async Task The_readme_latency_example_gives_a_p99_of_test_run_durations()
    {
        RequirePrometheus();
        string name = TestMaps.UniqueName();
        using var latency = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 28, Name = name });
        using BpfProgram program = Exp2HistogramProgram.Load(latency);
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "name {{name}}", "name": "run_latency",
                          "histogram": { "name": "test_run_duration_seconds", "help": "BPF_PROG_TEST_RUN run durations.",
                                         "bucketType": "exp2", "bucketMax": 26, "overflow": "max",
                                         "sum": { "key": 27 }, "multiplier": 1e-9 } } ] }
            """);

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(e.Port);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        CancellationToken token = stop.Token;
        Task runs = Task.Run(
            async () =>
            {
                while (!token.IsCancellationRequested)
                {
                    program.TestRun(Exp2HistogramProgram.CreatePacket(0), repeat: 1000);
                    await Task.Delay(50, CancellationToken.None);
                }
            },
            CancellationToken.None);
        try
        {
            double p99 = await prometheus.ValueAsync(
                "histogram_quantile(0.99, sum by (le) (rate(test_run_duration_seconds_bucket[1m])))",
                v => double.IsFinite(v) && v > 0);
            TestContext.Current.TestOutputHelper?.WriteLine($"p99 of a test run: {p99 * 1e9:F0} ns");
            TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", (await e.ScrapeAsync()).Text.Split('\n').Where(l => l.Contains("test_run_duration", StringComparison.Ordinal))));
            Assert.InRange(p99, 1e-9, Math.ScaleB(1, 26) * 1e-9);
            Assert.True(await prometheus.ValueAsync("test_run_duration_seconds_count", v => v >= 2000) >= 2000);
            Assert.True(await prometheus.ValueAsync("test_run_duration_seconds_sum") > 0);
        }
        finally
        {
            await stop.CancelAsync();
            await runs;
        }
    }

    [Fact]
    public async Task A_key_that_leaves_a_dump_map_goes_stale_in_prometheus()
    {
        RequirePrometheus();
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(BitConverter.GetBytes(1u), BitConverter.GetBytes(11ul));
        map.Update(BitConverter.GetBytes(2u), BitConverter.GetBytes(22ul));
        var options = new ExporterOptions
        {
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "flows", Key = "u32", Metrics = [new MetricOptions { Name = "flow_bytes" }] }],
        };

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(e.Port);
        await prometheus.UntilAsync("flow_bytes", r => r.Count == 2, "both keys");

        // The exporter drops the series at the next read; Prometheus marks it stale at the next scrape, so an
        // instant query no longer finds it (without waiting out the 5-minute lookback).
        Assert.True(map.Delete(BitConverter.GetBytes(2u)));
        List<(Dictionary<string, string> Labels, double Value)> left = await prometheus.UntilAsync("flow_bytes", r => r.Count == 1, "the deleted key to go stale");
        Assert.Equal(("1", 11.0), (left[0].Labels["key"], left[0].Value));
        Assert.Equal(22, await prometheus.ValueAsync("last_over_time(flow_bytes{key=\"2\"}[1m])"));
    }
}
