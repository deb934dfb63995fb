using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using BpfMaps.Exporter.Reading;
using Microsoft.Extensions.Hosting;

namespace BpfMaps.Exporter.Hosting;

/// <summary>
/// Pushes the histogram maps over OTLP every interval, and once more at shutdown, to the endpoint OpenTelemetry's
/// exporter pushes everything else to, with the same resource. OpenTelemetry's SDK aggregates histograms from single
/// observations only; a map already holds the bucket counts, so they are encoded here
/// (<see cref="MapExport.WriteOtlpHistogram"/>) and sent over http/protobuf or gRPC. A request that fails in a way the
/// OTLP specification calls retryable (no connection or no answer, HTTP 429/502/503/504, gRPC UNAVAILABLE and the
/// like) is sent again with exponential backoff, or after the server's Retry-After, for as long as the next push is
/// not due; a request that still fails goes to the same <see cref="OtlpFailureLog"/> as OpenTelemetry's, and with
/// delta temporality its changes are reported by the next push instead of being lost.
/// </summary>
internal sealed class OtlpHistogramExporter : BackgroundService
{
    private const string GrpcPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    // The last push at shutdown does not hold the exit up longer than this.
    private static readonly TimeSpan ShutdownBudget = TimeSpan.FromSeconds(5);
    private static readonly string? s_version = typeof(ExporterMetrics).Assembly.GetName().Version?.ToString();
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Uri _uri;
    private readonly bool _grpc;
    private readonly bool _delta;
    private readonly TimeSpan _interval;
    private readonly IReadOnlyList<MapExport> _maps;
    private readonly KeyValuePair<string, object?>[] _resource;
    private readonly OtlpFailureLog? _failures;
    private readonly SemaphoreSlim _pushing = new(1, 1);

    /// <summary>Creates the exporter.</summary>
    /// <param name="endpoint">The OTLP endpoint as configured.</param>
    /// <param name="http">http/protobuf, else gRPC.</param>
    /// <param name="delta">Delta temporality, else cumulative.</param>
    /// <param name="interval">How often to push.</param>
    /// <param name="maps">The maps; those that are histograms are pushed.</param>
    /// <param name="resource">The resource attributes (service.name, service.instance.id, constant labels).</param>
    /// <param name="failures">Where failures are logged, or null.</param>
    public OtlpHistogramExporter(Uri endpoint, bool http, bool delta, TimeSpan interval, IReadOnlyList<MapExport> maps, IEnumerable<KeyValuePair<string, object?>> resource, OtlpFailureLog? failures)
    {
        _grpc = !http;
        _uri = http
            ? endpoint.AbsolutePath == "/" ? new Uri(endpoint, "v1/metrics") : endpoint
            : new Uri(endpoint, GrpcPath);
        _delta = delta;
        _interval = interval;
        _maps = maps;
        _resource = [.. resource];
        _failures = failures;
    }

    /// <summary>Pushes that reached the endpoint and were accepted.</summary>
    public int Pushes { get; private set; }

    /// <summary>Requests sent again after a retryable failure.</summary>
    public int Retries { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await PushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // The last read, once more, as OpenTelemetry's exporter does at shutdown.
        await PushAsync(ShutdownBudget < _interval ? ShutdownBudget : _interval, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Encodes every histogram map and sends the request, if any map has a point to report, retrying within one interval.</summary>
    internal Task PushAsync(CancellationToken ct) => PushAsync(_interval, ct);

    /// <summary>
    /// Encodes every histogram map and sends the request, if any map has a point to report. A retryable failure is
    /// sent again after a backoff (250 ms, doubling to 5 s, or the server's Retry-After) while the next attempt
    /// would start within <paramref name="budget"/>.
    /// </summary>
    internal async Task PushAsync(TimeSpan budget, CancellationToken ct)
    {
        await _pushing.WaitAsync(ct).ConfigureAwait(false);
        bool accepted = false;
        try
        {
            using var buffer = new PooledBufferWriter();
            if (!Encode(new ProtoWriter(buffer), (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100))
            {
                return;
            }

            long started = Stopwatch.GetTimestamp();
            TimeSpan backoff = FirstBackoff;
            int attempts = 0;
            while (true)
            {
                attempts++;
                SendResult result = await SendAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
                if (result.Failure is null)
                {
                    accepted = true;
                    Pushes++;
                    return;
                }

                TimeSpan wait = result.RetryAfter ?? backoff;
                if (!result.Retryable || Stopwatch.GetElapsedTime(started) + wait >= budget)
                {
                    _failures?.Record($"histograms to {_uri}: {result.Failure}{(attempts > 1 ? $" (after {attempts} attempts)" : "")}");
                    return;
                }

                await Task.Delay(wait, ct).ConfigureAwait(false);
                Retries++;
                backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
            }
        }
        finally
        {
            foreach (MapExport map in _maps)
            {
                map.CommitOtlpHistogram(accepted);
            }

            _pushing.Release();
        }
    }

    /// <summary>ExportMetricsServiceRequest { resource_metrics { resource, scope_metrics { scope, metrics } } }.</summary>
    private bool Encode(ProtoWriter w, ulong now)
    {
        int resourceMetrics = w.Begin(1);
        int resource = w.Begin(1);
        MapExport.WriteAttributes(w, 1, _resource);
        w.End(resource);
        int scopeMetrics = w.Begin(2);
        int scope = w.Begin(1);
        w.String(1, ExporterMetrics.MeterName);
        if (s_version is not null)
        {
            w.String(2, s_version);
        }

        w.End(scope);
        int before = w.Position;
        foreach (MapExport map in _maps)
        {
            map.WriteOtlpHistogram(w, _delta, now);
        }

        if (w.Position == before)
        {
            return false;
        }

        w.End(scopeMetrics);
        w.End(resourceMetrics);
        return true;
    }

    /// <summary>What one request got: null failure when accepted; otherwise the failure on one line, whether the OTLP specification calls it retryable, and the server's Retry-After.</summary>
    private readonly record struct SendResult(string? Failure, bool Retryable = false, TimeSpan? RetryAfter = null);

    /// <summary>Sends one request.</summary>
    private async Task<SendResult> SendAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri);
        if (_grpc)
        {
            // A gRPC message: not compressed (0), its length big-endian, the message; over HTTP/2 (prior knowledge on http://).
            byte[] framed = new byte[message.Length + 5];
            BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
            message.CopyTo(framed.AsMemory(5));
            request.Content = new ByteArrayContent(framed);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
        else
        {
            request.Content = new ReadOnlyMemoryContent(message);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        }

        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                int code = (int)response.StatusCode;
                return new SendResult($"HTTP {code} {response.ReasonPhrase}", code is 429 or 502 or 503 or 504, RetryAfter(response));
            }

            if (_grpc)
            {
                // Status in the trailers, or in the headers of a trailers-only response.
                string? status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
                if (status != "0")
                {
                    string? detail = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");

                    // Retryable per the OTLP specification: CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
                    // OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS.
                    bool retryable = status is "1" or "4" or "8" or "10" or "11" or "14" or "15";
                    return new SendResult($"gRPC status {status ?? "missing"}{(detail is null ? "" : $": {Uri.UnescapeDataString(detail)}")}", retryable);
                }
            }

            return new SendResult(null);
        }
        catch (HttpRequestException e)
        {
            return new SendResult(OtlpFailureLog.WithoutStack(e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message), Retryable: true);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new SendResult($"no answer within {_http.Timeout.TotalSeconds:0} s", Retryable: true);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        RetryConditionHeaderValue? retry = response.Headers.RetryAfter;
        if (retry?.Delta is { } delta)
        {
            return delta;
        }

        return retry?.Date is { } date ? (date - DateTimeOffset.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero) : null;
    }

    private static string? Header(HttpHeaders headers, string name)
        => headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    public override void Dispose()
    {
        _http.Dispose();
        _pushing.Dispose();
        base.Dispose();
    }
}
