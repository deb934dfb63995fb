using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>OTLP over http/protobuf to a receiver on loopback.</summary>
public sealed class OtlpTests
{
    private static ExporterOptions PushOnly(BpfMap map, string endpoint, string interval, string name) => new()
    {
        Listen = "",
        Interval = interval,
        Hostname = "otlphost",
        OtlpEndpoint = endpoint,
        OtlpProtocol = "http",
        Maps = [new MapOptions { Map = $"id {map.Id}", Name = name, Key = "u32", Metrics = [new MetricOptions { Name = $"{name}_bytes" }] }],
    };

    private static string? TryScrape(HttpClient http, int port)
    {
        try
        {
            return http.GetStringAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult();
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task UntilAsync(Func<bool> done, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!done() && clock.Elapsed < limit)
        {
            await Task.Delay(25, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Metrics_are_pushed_to_the_otlp_endpoint_with_the_host_as_resource()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(BitConverter.GetBytes(3u), BitConverter.GetBytes(77ul));
        await using var receiver = new OtlpReceiver();
        var run = new ExporterRun(PushOnly(map, receiver.Endpoint, "50ms", "pushed"));
        try
        {
            await UntilAsync(() => receiver.Received("pushed_bytes"), TimeSpan.FromSeconds(10));
            (string Path, string Body) export = receiver.Requests.FirstOrDefault(r => r.Body.Contains("pushed_bytes", StringComparison.Ordinal));
            Assert.True(export.Body is not null, $"no export with pushed_bytes arrived; log: {run.LogText}");
            Assert.Equal("/v1/metrics", export.Path);
            (Dictionary<string, string> resource, _) = OtlpMetrics.Read(System.Text.Encoding.Latin1.GetBytes(export.Body));
            Assert.Equal(("bpfmap-exporter", "otlphost"), (resource["service.name"], resource["host"]));
            Assert.Contains("bpfmap_exporter_reads", export.Body, StringComparison.Ordinal);
        }
        finally
        {
            await run.StopAsync();
        }
    }

    [Fact]
    public async Task The_last_read_is_pushed_at_shutdown_even_before_the_first_interval()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(BitConverter.GetBytes(5u), BitConverter.GetBytes(4242ul));
        await using var receiver = new OtlpReceiver();

        // An interval far longer than the test: the only push can be the one at shutdown. The
        // scrape endpoint shows when the first read is done, so the stop does not race the start.
        ExporterOptions options = PushOnly(map, receiver.Endpoint, "10m", "last");
        int port = RunningExporterPorts.Free();
        options.Listen = $"127.0.0.1:{port}";
        var run = new ExporterRun(options);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        bool read = false;
        await UntilAsync(() => read = TryScrape(http, port)?.Contains("last_bytes", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(20));
        Assert.True(read, $"the first read never showed on /metrics; log: {run.LogText}");
        Assert.Empty(receiver.Requests);
        await run.StopAsync();
        Assert.True(receiver.Received("last_bytes"), $"no push at shutdown; log: {run.LogText}");
    }

    [Fact]
    public async Task Failed_pushes_are_logged_once_not_once_per_interval()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        int closed = RunningExporterPorts.Free();
        var run = new ExporterRun(PushOnly(map, $"http://127.0.0.1:{closed}", "50ms", "lost"));
        await UntilAsync(() => run.LogText.Contains("OTLP export failed", StringComparison.Ordinal), TimeSpan.FromSeconds(15));

        // Twenty more intervals of failing pushes: no line for each, only the summary of the rest at shutdown.
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        await run.StopAsync();
        string[] failures = run.LogText.Split('\n').Where(l => l.Contains("OTLP export", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length is 1 or 2, $"expected the first failure and at most a summary, got {failures.Length} lines; log: {run.LogText}");
        Assert.All(failures.Skip(1), l => Assert.Contains("more failures since the last report", l, StringComparison.Ordinal));
        Assert.Contains($"127.0.0.1:{closed}", failures[0], StringComparison.Ordinal);
        Assert.Contains("Connection refused", failures[0], StringComparison.Ordinal);
        Assert.DoesNotContain(" at System.", failures[0], StringComparison.Ordinal);
    }
}
