using System.Diagnostics;
using BpfMaps.Exporter.Hosting;
using BpfMaps.Exporter.Reading;
using BpfMaps.Exporter.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Tests;

/// <summary>Histogram maps over OTLP: exponential histograms at scale 0 for exp2 maps, explicit buckets otherwise, both temporalities, http and gRPC.</summary>
public sealed class OtlpHistogramTests
{
    private static byte[] Key(uint label, uint bucket)
    {
        byte[] k = new byte[8];
        BitConverter.TryWriteBytes(k, label);
        BitConverter.TryWriteBytes(k.AsSpan(4), bucket);
        return k;
    }

    private static void Put(BpfMap map, uint label, uint bucket, ulong count) => map.Update(Key(label, bucket), BitConverter.GetBytes(count));

    private static ExporterOptions Options(BpfMap map, string endpoint, string histogram, string protocol = "http", string temporality = "delta", string interval = "50ms")
    {
        ExporterOptions o = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "lat", "labels": [ { "name": "cpu_id", "type": "u32" } ],
                          "histogram": {{histogram}} } ] }
            """);
        o.Listen = "";
        o.Interval = interval;
        o.Hostname = "otlphost";
        o.OtlpEndpoint = endpoint;
        o.OtlpProtocol = protocol;
        o.OtlpTemporality = temporality;
        return o;
    }

    private static async Task<OtlpPoint> PointAsync(Func<List<OtlpPoint>> points, Func<OtlpPoint, bool> match, string what, ExporterRun run)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (points().FirstOrDefault(match) is { } p)
            {
                return p;
            }

            await Task.Delay(25, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"no {what} arrived; log: {run.LogText}");
        return null!;
    }

    [Fact]
    public async Task An_exp2_map_is_an_exponential_histogram_at_scale_0_and_delta_points_carry_the_changes()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 1, 0, 1);   // [0, 1]: exponential bucket -1, (0.5, 1]
        Put(map, 1, 2, 4);   // (2, 4]: bucket 1
        Put(map, 1, 3, 10);  // (4, 8]: bucket 2
        await using var receiver = new OtlpReceiver();
        var run = new ExporterRun(Options(map, receiver.Endpoint, """{ "name": "op_latency", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }"""));
        try
        {
            OtlpPoint p = await PointAsync(receiver.HistogramPoints, x => x.Metric == "op_latency", "exponential point", run);
            Assert.True(p.Exponential);
            Assert.Equal((0, -1, 0UL), (p.Scale, p.Offset, p.ZeroCount));
            Assert.Equal([1UL, 0, 4, 10], p.BucketCounts);
            Assert.Equal((15UL, 72.5, 1), (p.Count, p.Sum, p.Temporality));
            Assert.Equal("1", p.Attributes["cpu_id"]);

            // Delta: the next point has what changed, from the last push on.
            Put(map, 1, 3, 15);
            OtlpPoint next = await PointAsync(receiver.HistogramPoints, x => x.Metric == "op_latency" && x.Count == 5, "delta point", run);
            Assert.Equal((2, 30.0), (next.Offset, next.Sum));
            Assert.Equal([5UL], next.BucketCounts);
            Assert.True(next.Start >= p.Time, $"delta start {next.Start} before the previous point's time {p.Time}");

            // One service instance: the histograms' resource is the one OpenTelemetry's SDK sends the self-metrics with.
            await PointAsync(() => receiver.Received("bpfmap_exporter_reads") ? [p] : [], _ => true, "SDK export", run);
            Dictionary<string, string>[] resources = receiver.Requests.Select(r => OtlpMetrics.Read(System.Text.Encoding.Latin1.GetBytes(r.Body)).Resource).ToArray();
            Assert.Single(resources.Select(r => r["service.instance.id"]).Distinct());
            Assert.All(resources, r => Assert.Equal(("bpfmap-exporter", "otlphost"), (r["service.name"], r["host"])));
        }
        finally
        {
            await run.StopAsync();
        }
    }

    [Fact]
    public async Task An_exp2zero_map_with_a_power_of_two_multiplier_puts_bucket_0_in_the_zero_count()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 7, 0, 3);   // zero
        Put(map, 7, 1, 2);   // (0, 1] in the map's units: ×2^-10 is exponential bucket -11
        Put(map, 7, 4, 4);   // (4, 8]: bucket -8
        await using var receiver = new OtlpReceiver();
        var run = new ExporterRun(Options(map, receiver.Endpoint, """{ "name": "kib", "bucketType": "exp2zero", "bucketMax": 5, "multiplier": 0.0009765625, "bucket": { "offset": 4, "size": 4 } }"""));
        try
        {
            OtlpPoint p = await PointAsync(receiver.HistogramPoints, x => x.Metric == "kib", "exponential point", run);
            Assert.True(p.Exponential);
            Assert.Equal((3UL, -11, 9UL), (p.ZeroCount, p.Offset, p.Count));
            Assert.Equal([2UL, 0, 0, 4], p.BucketCounts);
        }
        finally
        {
            await run.StopAsync();
        }
    }

    [Fact]
    public async Task Other_buckets_are_explicit_with_the_scrape_bounds_and_cumulative_points_carry_the_totals()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 2, 0, 3);
        Put(map, 2, 2, 1);
        await using var receiver = new OtlpReceiver();
        var run = new ExporterRun(Options(map, receiver.Endpoint, """{ "name": "queue_depth", "bucketType": "linear", "bucketMax": 2, "bucket": { "offset": 4, "size": 4 } }""", temporality: "cumulative"));
        try
        {
            OtlpPoint p = await PointAsync(receiver.HistogramPoints, x => x.Metric == "queue_depth", "explicit point", run);
            Assert.False(p.Exponential);
            Assert.Equal([1.0, 2, 3], p.Bounds);
            Assert.Equal([3UL, 0, 1, 0], p.BucketCounts);
            Assert.Equal((4UL, (3 * 0.5) + (1 * 2.5), 2), (p.Count, p.Sum, p.Temporality));

            Put(map, 2, 1, 6);
            OtlpPoint later = await PointAsync(receiver.HistogramPoints, x => x.Metric == "queue_depth" && x.Count == 10, "cumulative point", run);
            Assert.Equal([3UL, 6, 1, 0], later.BucketCounts);
            Assert.Equal(p.Start, later.Start);

            // A dump whose counts go down (the map was emptied): the cumulative series starts again.
            Assert.True(map.Delete(Key(2, 1)));
            Assert.True(map.Delete(Key(2, 0)));
            OtlpPoint reset = await PointAsync(receiver.HistogramPoints, x => x.Metric == "queue_depth" && x.Count == 1, "point after the reset", run);
            Assert.True(reset.Start > p.Start, "a reset moves the start time");
        }
        finally
        {
            await run.StopAsync();
        }
    }

    [Fact]
    public async Task An_exp2_map_in_seconds_is_explicit_because_its_bounds_are_not_powers_of_two()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 1, 1, 1);
        await using var receiver = new OtlpReceiver();
        var run = new ExporterRun(Options(map, receiver.Endpoint, """{ "name": "lat_seconds", "bucketType": "exp2", "bucketMax": 2, "multiplier": 1e-9, "bucket": { "offset": 4, "size": 4 } }"""));
        try
        {
            OtlpPoint p = await PointAsync(receiver.HistogramPoints, x => x.Metric == "lat_seconds", "explicit point", run);
            Assert.False(p.Exponential);
            Assert.Equal([1e-9, 2e-9, 4e-9], p.Bounds);
            Assert.Equal([0UL, 1, 0, 0], p.BucketCounts);
        }
        finally
        {
            await run.StopAsync();
        }
    }

    [Fact]
    public async Task Histograms_go_over_grpc_too_and_the_last_read_is_pushed_at_shutdown()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 3, 2, 5);
        await using GrpcOtlpReceiver receiver = await GrpcOtlpReceiver.StartAsync();

        // An interval longer than the test: the push can only be the one at shutdown.
        var run = new ExporterRun(Options(map, receiver.Endpoint, """{ "name": "grpc_lat", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""", protocol: "grpc", interval: "10m"));
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        Assert.Empty(receiver.HistogramPoints());
        await run.StopAsync();
        OtlpPoint p = Assert.Single(receiver.HistogramPoints(), x => x.Metric == "grpc_lat");
        Assert.Equal((5UL, 1), (p.Count, p.Offset));
        Assert.Equal([5UL], p.BucketCounts);
        Assert.DoesNotContain("OTLP export failed", run.LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_histogram_push_is_logged_like_any_otlp_failure()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 3, 2, 5);
        using var direct = new DirectPush(map, """{ "name": "lost_lat", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""");
        direct.Export.Read();

        int closed = RunningExporterPorts.Free();
        using OtlpHistogramExporter pusher = direct.Pusher($"http://127.0.0.1:{closed}", TimeSpan.FromSeconds(1));
        await pusher.PushAsync(TestContext.Current.CancellationToken);
        Assert.Equal((1, 0), (direct.Failures.Failures, pusher.Pushes));
        string line = Assert.Single(direct.Log.ToString().Split('\n'), l => l.Contains("OTLP", StringComparison.Ordinal));
        Assert.StartsWith($"warning: OTLP export failed: histograms to http://127.0.0.1:{closed}/v1/metrics: ", line, StringComparison.Ordinal);
        Assert.Contains("Connection refused", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at System.", line, StringComparison.Ordinal);
    }

    /// <summary>One histogram map read by hand and pushed by an <see cref="OtlpHistogramExporter"/> the test drives, without a host.</summary>
    private sealed class DirectPush : IDisposable
    {
        public DirectPush(BpfMap map, string histogram)
        {
            ILogger logger = new TextWriterLoggerProvider(Log).CreateLogger("test");
            Self = new ExporterMetrics(prometheus: false, otel: false, []);
            Export = new MapExport(PlanCompiler.Compile(Options(map, "http://127.0.0.1:1", histogram)).Maps[0], 100, Self, logger);
            Self.Track(Export);
            Export.OpenAtStartup();
            Failures = new OtlpFailureLog(logger, TimeSpan.FromMinutes(1));
        }

        public StringWriter Log { get; } = new();

        public ExporterMetrics Self { get; }

        public MapExport Export { get; }

        public OtlpFailureLog Failures { get; }

        /// <summary>A pusher over http/protobuf with delta temporality, retrying within <paramref name="interval"/>.</summary>
        public OtlpHistogramExporter Pusher(string endpoint, TimeSpan interval)
            => new(new Uri(endpoint), http: true, delta: true, interval, Self.Maps, [new("service.name", "bpfmap-exporter")], Failures);

        public void Dispose()
        {
            Failures.Dispose();
            Export.Dispose();
            Self.Dispose();
        }
    }

    [Fact]
    public async Task A_retryable_failure_is_sent_again_with_backoff_and_retry_after_until_accepted()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 4, 2, 6);
        using var direct = new DirectPush(map, """{ "name": "retry_lat", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""");
        direct.Export.Read();
        await using var receiver = new OtlpReceiver();
        receiver.AnswerNext(503, times: 2);
        receiver.AnswerNext(429, retryAfter: "1");
        using OtlpHistogramExporter pusher = direct.Pusher(receiver.Endpoint, TimeSpan.FromSeconds(20));
        var clock = Stopwatch.StartNew();
        await pusher.PushAsync(TestContext.Current.CancellationToken);

        // 250 ms and 500 ms of backoff after the 503s, then the 429's Retry-After of one second.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.7), $"retried after {clock.Elapsed}");
        Assert.Equal((1, 3, 0), (pusher.Pushes, pusher.Retries, direct.Failures.Failures));
        Assert.Equal(4, receiver.Requests.Count);
        Assert.Single(receiver.Requests.Select(r => r.Body).Distinct());
        Assert.Equal(6UL, receiver.HistogramPoints()[^1].Count);
        Assert.DoesNotContain("OTLP", direct.Log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_delta_push_that_fails_leaves_its_changes_to_the_next_push()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 5, 1, 10);
        using var direct = new DirectPush(map, """{ "name": "kept_lat", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""");
        await using var receiver = new OtlpReceiver();
        using OtlpHistogramExporter pusher = direct.Pusher(receiver.Endpoint, TimeSpan.FromSeconds(20));
        var ct = TestContext.Current.CancellationToken;
        direct.Export.Read();
        await pusher.PushAsync(ct);
        Assert.Equal(10UL, receiver.HistogramPoints()[^1].Count);

        // 5 more; the endpoint refuses the request (400 is not retryable): logged, sent once.
        Put(map, 5, 1, 15);
        direct.Export.Read();
        receiver.AnswerNext(400);
        await pusher.PushAsync(ct);
        Assert.Equal((1, 0, 1), (pusher.Pushes, pusher.Retries, direct.Failures.Failures));
        Assert.Contains("HTTP 400", direct.Log.ToString(), StringComparison.Ordinal);

        // 2 more: the accepted push carries all 7 since the last accepted one, from its time on.
        Put(map, 5, 1, 17);
        direct.Export.Read();
        await pusher.PushAsync(ct);
        List<OtlpPoint> points = receiver.HistogramPoints();
        Assert.Equal(3, points.Count);
        Assert.Equal((7UL, 2), (points[2].Count, pusher.Pushes));
        Assert.Equal(points[0].Time, points[2].Start);
    }
}
