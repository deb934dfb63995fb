using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>
/// An OTLP http/protobuf collector on a free loopback port that records every request body and
/// answers 200 to all of them, so the exporter never waits on a timeout (its last push at shutdown included),
/// unless told to answer the next requests otherwise (<see cref="AnswerNext"/>).
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _answering;

    public OtlpReceiver()
    {
        Port = RunningExporterPorts.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _answering = Task.Run(AnswerAsync);
    }

    public int Port { get; }

    private readonly ConcurrentQueue<(int Status, string? RetryAfter)> _answers = new();

    /// <summary>Answers the next <paramref name="times"/> requests with <paramref name="status"/> (and a Retry-After header, if given), then 200 again.</summary>
    public void AnswerNext(int status, int times = 1, string? retryAfter = null)
    {
        for (int i = 0; i < times; i++)
        {
            _answers.Enqueue((status, retryAfter));
        }
    }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Every request so far: its path and its body (protobuf, read as Latin-1 so strings in it can be searched).</summary>
    public ConcurrentQueue<(string Path, string Body)> Requests { get; } = new();

    /// <summary>The histogram points of every request so far, in order.</summary>
    public List<OtlpPoint> HistogramPoints() => Requests.SelectMany(r => OtlpMetrics.Read(Encoding.Latin1.GetBytes(r.Body)).Points).ToList();

    /// <summary>Whether any request body contains <paramref name="text"/>.</summary>
    public bool Received(string text) => Requests.Any(r => r.Body.Contains(text, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _answering.WaitAsync(TimeSpan.FromSeconds(5));
        _listener.Close();
    }

    private async Task AnswerAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException || (e is InvalidOperationException && !_listener.IsListening))
            {
                // Stopped, possibly between the IsListening check and the call ("call the Start() method").
                return;
            }

            using var ms = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(ms);
            Requests.Enqueue((ctx.Request.Url!.AbsolutePath, Encoding.Latin1.GetString(ms.ToArray())));
            if (_answers.TryDequeue(out var answer))
            {
                ctx.Response.StatusCode = answer.Status;
                if (answer.RetryAfter is not null)
                {
                    ctx.Response.AddHeader("Retry-After", answer.RetryAfter);
                }
            }
            else
            {
                ctx.Response.StatusCode = 200;
            }

            ctx.Response.Close();
        }
    }
}
