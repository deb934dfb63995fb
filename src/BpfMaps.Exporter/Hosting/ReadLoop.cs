using BpfMaps.Exporter.Reading;
using Microsoft.Extensions.Hosting;

namespace BpfMaps.Exporter.Hosting;

/// <summary>Reads every map once at start, then once per interval. Collection only reports what the last read found.</summary>
internal sealed class ReadLoop(ExportPlan plan, IReadOnlyList<MapExport> maps) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Reading is synchronous syscalls; keep it off the thread that starts the host.
        await Task.Yield();
        using var timer = new PeriodicTimer(plan.Interval);
        try
        {
            do
            {
                foreach (MapExport map in maps)
                {
                    map.Read();
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
