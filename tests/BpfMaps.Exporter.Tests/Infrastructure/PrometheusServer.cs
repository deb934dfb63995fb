using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>
/// A real Prometheus (the <c>prometheus</c> binary scripts/setup.sh installs from Debian) run as a child process:
/// a loopback port, one scrape job for the exporter every 200 ms, storage in a temporary directory. Disposing it
/// kills the process by its pid and deletes the directory. Queries go through its HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Job = "bpfmap";
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly DirectoryInfo _dir;
    private readonly StringBuilder _output = new();

    private PrometheusServer(Process process, DirectoryInfo dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What Prometheus printed, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Why there is no Prometheus to run, or null when there is one.</summary>
    public static string? WhyUnavailable()
    {
        if (Environment.GetEnvironmentVariable("BPFMAPS_PROMETHEUS") is { Length: > 0 } chosen)
        {
            return File.Exists(chosen) ? null : $"Prometheus is not available: BPFMAPS_PROMETHEUS is '{chosen}', which is not a file";
        }

        return FindBinary() is null
            ? "Prometheus is not installed: no prometheus on PATH or in /usr/bin (scripts/setup.sh installs Debian's prometheus package)"
            : null;
    }

    /// <summary>The prometheus binary: BPFMAPS_PROMETHEUS when set, else the one on PATH or in /usr/bin; or null.</summary>
    public static string? FindBinary()
    {
        if (Environment.GetEnvironmentVariable("BPFMAPS_PROMETHEUS") is { Length: > 0 } chosen)
        {
            return File.Exists(chosen) ? chosen : null;
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin"))
        {
            string candidate = Path.Combine(dir, "prometheus");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts Prometheus scraping <c>127.0.0.1:<paramref name="exporterPort"/>/metrics</c>, and waits until it is ready. Skips the test when Prometheus is not installed.</summary>
    public static async Task<PrometheusServer> StartAsync(int exporterPort)
    {
        if (WhyUnavailable() is { } why)
        {
            Assert.Skip(why);
        }

        string binary = FindBinary()!;

        DirectoryInfo dir = Directory.CreateTempSubdirectory("bpfmaps-prometheus-");
        string config = Path.Combine(dir.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 200ms
              scrape_timeout: 200ms
            scrape_configs:
              - job_name: {Job}
                static_configs:
                  - targets: ["127.0.0.1:{exporterPort}"]
            """, TestContext.Current.CancellationToken);
        int port = RunningExporterPorts.Free();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir.FullName,
        };
        foreach (string arg in (string[])[$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir.FullName, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
        {
            start.ArgumentList.Add(arg);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
        var server = new PrometheusServer(process, dir, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                string output = server.Output;
                await server.DisposeAsync();
                Assert.Fail($"prometheus exited with {process.ExitCode}: {output}");
            }

            try
            {
                using HttpResponseMessage ready = await s_http.GetAsync(new Uri($"http://127.0.0.1:{port}/-/ready"), TestContext.Current.CancellationToken);
                if (ready.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        string log = server.Output;
        await server.DisposeAsync();
        Assert.Fail($"prometheus was not ready within 60 s: {log}");
        return null!;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>An instant query: each result's labels and value.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var uri = new Uri($"http://127.0.0.1:{Port}/api/v1/query?query={Uri.EscapeDataString(promql)}");
        string body = await s_http.GetStringAsync(uri, TestContext.Current.CancellationToken);
        using JsonDocument doc = JsonDocument.Parse(body);
        JsonElement data = doc.RootElement.GetProperty("data");
        var results = new List<(Dictionary<string, string>, double)>();
        if (data.GetProperty("resultType").GetString() == "scalar")
        {
            results.Add(([], ParseValue(data.GetProperty("result")[1])));
            return results;
        }

        foreach (JsonElement r in data.GetProperty("result").EnumerateArray())
        {
            var labels = r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
            results.Add((labels, ParseValue(r.GetProperty("value")[1])));
        }

        return results;
    }

    private static double ParseValue(JsonElement v) => v.GetString() switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        string s => double.Parse(s, CultureInfo.InvariantCulture),
        null => double.NaN,
    };

    /// <summary>Queries until <paramref name="done"/> holds for the results, for at most 30 seconds.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> UntilAsync(string promql, Func<List<(Dictionary<string, string> Labels, double Value)>, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        List<(Dictionary<string, string>, double)> last = [];
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            last = await QueryAsync(promql);
            if (done(last))
            {
                return last;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"timed out waiting for {what}; {promql} gave [{string.Join("; ", last.Select(r => $"{{{string.Join(",", r.Item1.Select(l => $"{l.Key}={l.Value}"))}}} {r.Item2}"))}]\nprometheus: {Output}");
        return null!;
    }

    /// <summary>Waits until the query has exactly one result, and returns its value.</summary>
    public async Task<double> ValueAsync(string promql, Func<double, bool>? done = null)
    {
        List<(Dictionary<string, string> Labels, double Value)> r = await UntilAsync(promql, x => x.Count == 1 && (done is null || done(x[0].Value)), promql);
        return r[0].Value;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            _process.Dispose();
            try
            {
                _dir.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
