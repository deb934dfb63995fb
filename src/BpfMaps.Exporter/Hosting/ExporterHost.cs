using System.Net;
using System.Net.Sockets;
using BpfMaps.Exporter.Hosting;
using BpfMaps.Exporter.Reading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Prometheus;

namespace BpfMaps.Exporter;

/// <summary>
/// Runs the exporter: opens the configured maps, reads them every interval, and publishes the
/// series on a Prometheus scrape endpoint and/or to an OTLP endpoint until cancelled.
/// </summary>
public static class ExporterHost
{
    /// <summary>
    /// Loads the configuration (<see cref="ExporterConfig.Load"/>: the JSON file, then command-line
    /// options) and runs it; the entry point for <c>bpfmap export</c>. A configuration error is
    /// written as one line to standard error and returns 2.
    /// </summary>
    /// <param name="configPath">The JSON file, or null to configure from <paramref name="args"/> alone.</param>
    /// <param name="args">Command-line options such as <c>--listen 127.0.0.1:9500</c> (see <see cref="ExporterConfig.SwitchMappings"/>).</param>
    /// <param name="ct">Stops the exporter.</param>
    /// <returns>0 stopped, 1 could not start, 2 bad configuration.</returns>
    public static Task<int> RunAsync(string? configPath, IReadOnlyList<string> args, CancellationToken ct) => RunAsync(configPath, args, Console.Error, ct);

    /// <summary>Same as <see cref="RunAsync(string, IReadOnlyList{string}, CancellationToken)"/>, writing errors and logs to <paramref name="errors"/>.</summary>
    /// <param name="configPath">The JSON file, or null.</param>
    /// <param name="args">Command-line options.</param>
    /// <param name="errors">Where the one-line error and the log go.</param>
    /// <param name="ct">Stops the exporter.</param>
    /// <returns>0 stopped, 1 could not start, 2 bad configuration.</returns>
    public static async Task<int> RunAsync(string? configPath, IReadOnlyList<string> args, TextWriter errors, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(errors);
        ExporterOptions options;
        try
        {
            options = ExporterConfig.Load(configPath, args);
        }
        catch (ExporterConfigException e)
        {
            await errors.WriteLineAsync($"bpfmap export: {e.Message}").ConfigureAwait(false);
            return (int)ExporterExitCode.BadConfig;
        }

        return await RunAsync(options, errors, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Validates <paramref name="options"/>, opens every map (a missing map is a configuration error
    /// at startup; later it is reported and retried), then serves metrics until <paramref name="ct"/>
    /// is cancelled or the process gets SIGINT/SIGTERM. Errors are written to standard error as one line.
    /// </summary>
    /// <param name="options">The configuration, e.g. from <see cref="ExporterConfig.Load"/>.</param>
    /// <param name="ct">Stops the exporter.</param>
    /// <returns>An <see cref="ExporterExitCode"/> as an int: 0 stopped, 1 could not start or the read loop failed, 2 bad configuration.</returns>
    public static Task<int> RunAsync(ExporterOptions options, CancellationToken ct) => RunAsync(options, Console.Error, ct);

    /// <summary>Same as <see cref="RunAsync(ExporterOptions, CancellationToken)"/>, writing errors and logs to <paramref name="errors"/>.</summary>
    /// <param name="options">The configuration.</param>
    /// <param name="errors">Where the one-line error and the log go.</param>
    /// <param name="ct">Stops the exporter.</param>
    /// <returns>0 stopped, 1 could not start or the read loop failed, 2 bad configuration.</returns>
    public static async Task<int> RunAsync(ExporterOptions options, TextWriter errors, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        ExportPlan plan;
        try
        {
            plan = PlanCompiler.Compile(options);
        }
        catch (ExporterConfigException e)
        {
            await errors.WriteLineAsync($"bpfmap export: {e.Message}").ConfigureAwait(false);
            return (int)ExporterExitCode.BadConfig;
        }

        using var loggerFactory = LoggerFactory.Create(b => ConfigureLogging(b, errors));
        // Held back until startup succeeds: a configuration error or a busy port is then the only line.
        var log = new StartupLogger(loggerFactory.CreateLogger("BpfMaps.Exporter"));
        using var self = new ExporterMetrics(prometheus: plan.ListenHost is not null, otel: plan.OtlpEndpoint is not null, plan.ConstantLabels);
        var maps = new List<MapExport>();
        try
        {
            foreach (MapPlan map in plan.Maps)
            {
                var export = new MapExport(map, plan.MaxSeries, self, log);
                maps.Add(export);
                self.Track(export);
                export.OpenAtStartup();
            }

            if (plan.ListenHost is not null && ProbeListen(plan) is { } busy)
            {
                await errors.WriteLineAsync($"bpfmap export: listen: cannot listen on {plan.ListenHost}:{plan.ListenPort}: {busy}").ConfigureAwait(false);
                return (int)ExporterExitCode.Failed;
            }

            log.Release();

            var loop = new ReadLoop(plan.Interval, () =>
            {
                foreach (MapExport map in maps)
                {
                    map.Read();
                }
            });
            using OtlpFailureLog? otlpFailures = plan.OtlpEndpoint is null ? null : new OtlpFailureLog(log, OtlpFailureLog.SummaryEvery);
            using IHost host = Build(plan, loop, self, otlpFailures, errors);
            try
            {
                await host.StartAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return (int)ExporterExitCode.Ok;
            }
            catch (Exception e) when (e is HttpListenerException or SocketException or InvalidOperationException)
            {
                await errors.WriteLineAsync($"bpfmap export: cannot start: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                return (int)ExporterExitCode.Failed;
            }

            await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return (int)await ExitAfterShutdownAsync(loop.Failure, errors).ConfigureAwait(false);
        }
        catch (ExporterConfigException e)
        {
            await errors.WriteLineAsync($"bpfmap export: {e.Message}").ConfigureAwait(false);
            return (int)ExporterExitCode.BadConfig;
        }
        finally
        {
            foreach (MapExport m in maps)
            {
                m.Dispose();
            }
        }
    }

    /// <summary>
    /// How a run that got as far as serving ends: <see cref="ExporterExitCode.Ok"/> when it was asked
    /// to stop, <see cref="ExporterExitCode.Failed"/> with one line when the read loop died (the host
    /// then stops itself), so that a supervisor restarts the exporter instead of taking it as done.
    /// </summary>
    /// <param name="failure">What ended the read loop, or null when it was asked to stop.</param>
    /// <param name="errors">Where the one line goes.</param>
    internal static async Task<ExporterExitCode> ExitAfterShutdownAsync(Exception? failure, TextWriter errors)
    {
        if (failure is null)
        {
            return ExporterExitCode.Ok;
        }

        Exception e = failure.GetBaseException();
        await errors.WriteLineAsync($"bpfmap export: the read loop failed: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
        return ExporterExitCode.Failed;
    }

    private static void ConfigureLogging(ILoggingBuilder b, TextWriter errors)
    {
        b.SetMinimumLevel(LogLevel.Information);
        b.AddFilter("Microsoft", LogLevel.Warning);
        if (ReferenceEquals(errors, Console.Error))
        {
            b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss ";
            });
            b.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }
        else
        {
            b.AddProvider(new TextWriterLoggerProvider(errors));
        }
    }

    // HttpListener failures surface late and vaguely; a quick bind gives a clear, early error.
    private static string? ProbeListen(ExportPlan plan)
    {
        string bare = plan.ListenHost!.Trim('[', ']');
        IPAddress ip = bare == "localhost" ? IPAddress.Loopback : IPAddress.Parse(bare);
        try
        {
            using var probe = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(ip, plan.ListenPort));
            return null;
        }
        catch (SocketException e)
        {
            return e.Message;
        }
    }

    /// <summary>Registers <paramref name="loop"/> as a hosted service that can stop the host when it fails.</summary>
    internal static void AddReadLoop(IServiceCollection services, ReadLoop loop)
        => services.AddHostedService(sp =>
        {
            loop.Lifetime = sp.GetRequiredService<IHostApplicationLifetime>();
            return loop;
        });

    private static IHost Build(ExportPlan plan, ReadLoop loop, ExporterMetrics self, OtlpFailureLog? otlpFailures, TextWriter errors)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ApplicationName = "bpfmap-exporter" });
        ConfigureLogging(builder.Logging, errors);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        AddReadLoop(builder.Services, loop);
        if (plan.ListenHost is { } listenHost)
        {
            builder.Services.AddHostedService(_ => new PrometheusEndpoint(listenHost, plan.ListenPort, self));
        }

        if (plan.OtlpEndpoint is { } endpoint)
        {
            // Histograms are pushed beside OpenTelemetry's SDK (which aggregates single observations only), with
            // the same resource, so a receiver sees one service instance.
            string version = typeof(ExporterHost).Assembly.GetName().Version?.ToString() ?? "";
            string instance = Guid.NewGuid().ToString();
            if (plan.Maps.Any(m => m.Histogram is not null))
            {
                KeyValuePair<string, object?>[] resource =
                [
                    new("service.name", "bpfmap-exporter"),
                    new("service.instance.id", instance),
                    new("service.version", version),
                    .. plan.ConstantLabels.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value)),
                ];
                builder.Services.AddHostedService(_ => new OtlpHistogramExporter(endpoint, plan.OtlpHttp, plan.OtlpDelta, plan.Interval, self.Maps, resource, otlpFailures));
            }

            builder.Services.AddOpenTelemetry()
                .ConfigureResource(r => r
                    .AddService("bpfmap-exporter", serviceVersion: version, autoGenerateServiceInstanceId: false, serviceInstanceId: instance)
                    .AddAttributes(plan.ConstantLabels.Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value))))
                .WithMetrics(m =>
                {
                    m.AddMeter(ExporterMetrics.MeterName);

                    // Every instrument of the exporter's meter, those named from BTF fields when a map is opened included:
                    // maxSeries bounds them, not OpenTelemetry's default of 2000 points.
                    m.AddView(instrument => instrument.Meter.Name == ExporterMetrics.MeterName
                        ? new MetricStreamConfiguration { CardinalityLimit = plan.MaxSeries + 1 }
                        : null);

                    m.AddOtlpExporter((exporter, reader) =>
                    {
                        // Set in code, the http/protobuf endpoint is used as given: add the signal path when only a base was given.
                        exporter.Endpoint = plan.OtlpHttp && endpoint.AbsolutePath == "/" ? new Uri(endpoint, "v1/metrics") : endpoint;
                        exporter.Protocol = plan.OtlpHttp ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)plan.Interval.TotalMilliseconds;

                        // Cumulative aggregation keeps a point for every key ever seen until maxSeries is
                        // reached; delta lets OpenTelemetry reclaim the points of keys that left the map.
                        reader.TemporalityPreference = plan.OtlpDelta ? MetricReaderTemporalityPreference.Delta : MetricReaderTemporalityPreference.Cumulative;
                    });
                });
        }

        return builder.Build();
    }
}
