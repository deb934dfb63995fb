using System.Net;
using System.Text;
using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>OTLP over http/protobuf to a receiver on loopback.</summary>
public sealed class OtlpTests
{
    [Fact]
    public async Task Metrics_are_pushed_to_the_otlp_endpoint_with_the_host_as_resource()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(BitConverter.GetBytes(3u), BitConverter.GetBytes(77ul));
        int port = RunningExporterPorts.Free();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        using var stop = new CancellationTokenSource();
        var options = new ExporterOptions
        {
            Listen = "",
            Interval = "50ms",
            Hostname = "otlphost",
            OtlpEndpoint = $"http://127.0.0.1:{port}",
            OtlpProtocol = "http",
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "pushed", Key = "u32", Metrics = [new MetricOptions { Name = "pushed_bytes" }] }],
        };
        var log = new StringWriter();
        Task<int> run = Task.Run(() => ExporterHost.RunAsync(options, TextWriter.Synchronized(log), stop.Token), TestContext.Current.CancellationToken);
        var bodies = new System.Collections.Concurrent.ConcurrentQueue<(string Path, string Body)>();
        Task answering = Task.Run(async () =>
        {
            // Answer every export, including the last one at shutdown, so the exporter never waits on a timeout.
            while (receiver.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await receiver.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var ms = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(ms);
                bodies.Enqueue((ctx.Request.Url!.AbsolutePath, Encoding.Latin1.GetString(ms.ToArray())));
                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
            }
        }, TestContext.Current.CancellationToken);
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            (string Path, string Body) export = default;
            while (!bodies.Any(b => b.Body.Contains("pushed_bytes", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(25, TestContext.Current.CancellationToken);
            }

            export = bodies.FirstOrDefault(b => b.Body.Contains("pushed_bytes", StringComparison.Ordinal));
            Assert.True(export.Body is not null, $"no export with pushed_bytes arrived; log: {log}");
            Assert.Equal("/v1/metrics", export.Path);
            Assert.Contains("otlphost", export.Body, StringComparison.Ordinal);
            Assert.Contains("bpfmap_exporter_reads", export.Body, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
            receiver.Stop();
            await answering.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task The_last_read_is_pushed_at_shutdown_even_before_the_first_interval()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(BitConverter.GetBytes(5u), BitConverter.GetBytes(4242ul));
        int port = RunningExporterPorts.Free();
        using var receiver = new HttpListener();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        var bodies = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task answering = Task.Run(async () =>
        {
            while (receiver.IsListening)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await receiver.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var ms = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(ms);
                bodies.Enqueue(Encoding.Latin1.GetString(ms.ToArray()));
                ctx.Response.StatusCode = 200;
                ctx.Response.Close();
            }
        }, TestContext.Current.CancellationToken);

        // An interval far longer than the test: the only export can be the one at shutdown.
        var options = new ExporterOptions
        {
            Listen = "",
            Interval = "10m",
            OtlpEndpoint = $"http://127.0.0.1:{port}",
            OtlpProtocol = "http",
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "last", Key = "u32", Metrics = [new MetricOptions { Name = "last_bytes" }] }],
        };
        var log = new StringWriter();
        using var stop = new CancellationTokenSource();
        Task<int> run = Task.Run(() => ExporterHost.RunAsync(options, TextWriter.Synchronized(log), stop.Token), TestContext.Current.CancellationToken);
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        Assert.Empty(bodies);
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        receiver.Stop();
        await answering.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.True(bodies.Any(b => b.Contains("last_bytes", StringComparison.Ordinal)), $"no export at shutdown; log: {log}");
    }

    [Fact]
    public async Task Failed_pushes_are_logged_once_not_once_per_interval()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        int closed = RunningExporterPorts.Free();
        var options = new ExporterOptions
        {
            Listen = "",
            Interval = "50ms",
            OtlpEndpoint = $"http://127.0.0.1:{closed}",
            OtlpProtocol = "http",
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "lost", Key = "u32", Metrics = [new MetricOptions { Name = "lost_bytes" }] }],
        };
        var log = new StringWriter();
        using var stop = new CancellationTokenSource();
        Task<int> run = Task.Run(() => ExporterHost.RunAsync(options, TextWriter.Synchronized(log), stop.Token), TestContext.Current.CancellationToken);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!log.ToString().Contains("OTLP export failed", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        // Twenty more intervals of failing pushes: still one line, the summary waits a minute.
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        string[] failures = log.ToString().Split('\n').Where(l => l.Contains("OTLP export", StringComparison.Ordinal)).ToArray();
        Assert.True(failures.Length == 1, $"expected one OTLP failure line, got {failures.Length}; log: {log}");
        Assert.Contains($"127.0.0.1:{closed}", failures[0], StringComparison.Ordinal);
        Assert.Contains("Connection refused", failures[0], StringComparison.Ordinal);
        Assert.DoesNotContain(" at System.", failures[0], StringComparison.Ordinal);
    }
}
