using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>
/// An OTLP gRPC collector on a free loopback port (Kestrel, HTTP/2 without TLS): it records every Export request's
/// message and answers OK, as a collector does.
/// </summary>
public sealed class GrpcOtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcOtlpReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>The messages received, without the gRPC framing.</summary>
    public ConcurrentQueue<byte[]> Messages { get; } = new();

    /// <summary>The histogram points received so far.</summary>
    public List<OtlpPoint> HistogramPoints() => Messages.SelectMany(m => OtlpMetrics.Read(m).Points).ToList();

    public static async Task<GrpcOtlpReceiver> StartAsync()
    {
        int port = RunningExporterPorts.Free();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        WebApplication app = builder.Build();
        var receiver = new GrpcOtlpReceiver(app, port);
        app.MapPost("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", async (HttpContext ctx) =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            byte[] framed = body.ToArray();
            receiver.Messages.Enqueue(framed.Length >= 5 ? framed[5..] : []);

            // An empty ExportMetricsServiceResponse, and OK in the trailers.
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(new byte[5]);
            ctx.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
