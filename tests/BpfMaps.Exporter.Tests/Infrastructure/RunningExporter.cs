using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>
/// The exporter running in-process on a free loopback port, reading every 50 ms. Disposing it
/// stops it and checks that it exited cleanly.
/// </summary>
public sealed class RunningExporter : IAsyncDisposable
{
    public const string Host = "testhost";
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _log = new();
    private readonly Task<int> _run;

    private RunningExporter(ExporterOptions options)
    {
        Port = RunningExporterPorts.Free();
        options.Listen = $"127.0.0.1:{Port}";
        options.Interval = "50ms";
        options.Hostname = Host;
        Log = TextWriter.Synchronized(_log);
        _run = Task.Run(() => ExporterHost.RunAsync(options, Log, _stop.Token));
    }

    public int Port { get; }

    public TextWriter Log { get; }

    public string LogText
    {
        get
        {
            lock (Log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<RunningExporter> StartAsync(ExporterOptions options)
    {
        var e = new RunningExporter(options);
        await e.UntilAsync(_ => true, "the endpoint to answer");
        return e;
    }

    public async Task<Scrape> ScrapeAsync()
    {
        if (_run.IsCompleted)
        {
            Assert.Fail($"the exporter stopped with {await _run}: {LogText}");
        }

        return new Scrape(await s_http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/metrics"), TestContext.Current.CancellationToken));
    }

    /// <summary>Scrapes until <paramref name="done"/> holds, for at most 20 seconds (a loaded machine can take one scrape past the client's 5 s).</summary>
    public async Task<Scrape> UntilAsync(Func<Scrape, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        Scrape? last = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                last = await ScrapeAsync();
                if (done(last))
                {
                    return last;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !TestContext.Current.CancellationToken.IsCancellationRequested))
            {
                // Not answering yet, or one scrape slower than the client's timeout on a loaded machine: ask again
                // until the deadline, which still fails a test whose exporter never answers.
            }

            await Task.Delay(25, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"timed out waiting for {what}; last scrape:\n{last?.Text}\nlog:\n{LogText}");
        return null!;
    }

    /// <summary>Waits until the map has been read <paramref name="reads"/> more times than now.</summary>
    public async Task<Scrape> AfterReadsAsync(string map, int reads = 2)
    {
        Scrape now = await ScrapeAsync();
        double start = now.Value("bpfmap_exporter_reads_total", ("map", map)) ?? 0;
        return await UntilAsync(s => (s.Value("bpfmap_exporter_reads_total", ("map", map)) ?? 0) >= start + reads, $"{reads} reads of {map}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        int code = await _run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(code == 0, $"exit code {code}: {LogText}");
        _stop.Dispose();
    }
}

public static class RunningExporterPorts
{
    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
