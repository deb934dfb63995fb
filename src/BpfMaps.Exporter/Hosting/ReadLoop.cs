using Microsoft.Extensions.Hosting;

namespace BpfMaps.Exporter.Hosting;

/// <summary>
/// Reads every map once at start, then once per interval. Collection only reports what the last read found.
/// Problems with a map are handled per map, inside <c>MapExport.Read</c>; anything that still escapes is a
/// bug. It stops the host (so a supervisor restarts the exporter) and is kept in <see cref="Failure"/>
/// for the exit code and its one line, instead of reaching the host's own logging with a stack trace.
/// </summary>
/// <param name="interval">The read interval.</param>
/// <param name="readAll">Reads every map once.</param>
internal sealed class ReadLoop(TimeSpan interval, Action readAll) : BackgroundService
{
    /// <summary>What ended the loop other than a stop request, or null.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Stopped when the loop fails; set when the host is built.</summary>
    public IHostApplicationLifetime? Lifetime { get; set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Reading is synchronous syscalls; keep it off the thread that starts the host.
        await Task.Yield();
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                readAll();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // every escaping exception ends the run the same way: one line, exit 1
        catch (Exception e)
#pragma warning restore CA1031
        {
            Failure = e;
            Lifetime?.StopApplication();
        }
    }
}
