using Microsoft.Extensions.Hosting;
using Prometheus;

namespace BpfMaps.Exporter.Hosting;

/// <summary>prometheus-net's stand-alone HttpListener server for the registry, started and stopped with the host.</summary>
internal sealed class PrometheusEndpoint(string host, int port, CollectorRegistry registry) : IHostedService, IDisposable
{
    private MetricServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // HttpListener matches the request's Host header; "+" is its any-address wildcard.
        string listenHost = host is "0.0.0.0" or "[::]" ? "+" : host;
        _server = new MetricServer(listenHost, port, "metrics/", registry);
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => _server?.Dispose();
}
