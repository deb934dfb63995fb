using System.Net;
using BpfMaps.Exporter.Reading;
using Microsoft.Extensions.Hosting;

namespace BpfMaps.Exporter.Hosting;

/// <summary>
/// The scrape endpoint, <c>http://HOST:PORT/metrics</c> on HttpListener, started and stopped with the host. It
/// serves prometheus-net's registry and, after it, the histogram families that prometheus-net cannot hold
/// (<see cref="ExporterMetrics.WriteTextAsync"/>); prometheus-net's stand-alone MetricServer serves only its registry.
/// </summary>
internal sealed class PrometheusEndpoint(string host, int port, ExporterMetrics metrics) : IHostedService, IDisposable
{
    private const string TextContentType = "text/plain; version=0.0.4; charset=utf-8";
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _serving;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // HttpListener matches the request's Host header; "+" is its any-address wildcard.
        string listenHost = host is "0.0.0.0" or "[::]" ? "+" : host;
        _listener.Prefixes.Add($"http://{listenHost}:{port}/metrics/");
        _listener.Start();
        _serving = Task.Run(ServeAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(context), CancellationToken.None);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        HttpListenerResponse response = context.Response;
        try
        {
            if (context.Request.HttpMethod is not ("GET" or "HEAD"))
            {
                response.StatusCode = (int)HttpStatusCode.MethodNotAllowed;
                return;
            }

            response.StatusCode = 200;
            response.ContentType = TextContentType;
            if (context.Request.HttpMethod == "GET")
            {
                await metrics.WriteTextAsync(response.OutputStream, _stopping.Token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // a scrape that fails (the scraper went away, the exporter is stopping) ends that response only
        catch (Exception)
#pragma warning restore CA1031
        {
            try
            {
                response.StatusCode = 500;
            }
            catch (InvalidOperationException)
            {
                // The headers are gone already; closing the response is all that is left.
            }
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener.IsListening)
        {
            _listener.Stop();
        }

        if (_serving is not null)
        {
            await _serving.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _listener.Close();
        _stopping.Dispose();
    }
}
