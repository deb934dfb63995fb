using System.Diagnostics;
using BpfMaps.Cli.Hosting;
using Spectre.Console;

namespace BpfMaps.Cli.Watch;

/// <summary>Settings of a watch.</summary>
/// <param name="Interval">Seconds between ticks.</param>
/// <param name="Ticks">Ticks to run, or 0 until stopped.</param>
/// <param name="Top">Keys per frame.</param>
internal sealed record WatchSettings(double Interval, int Ticks, int Top);

/// <summary>
/// Reads a source every interval and shows each frame: a live Spectre table on a terminal, otherwise
/// text or JSON lines. Stops after the tick count, on cancellation, or when <c>shouldStop</c> says so.
/// </summary>
internal static class WatchLoop
{
    /// <summary>Runs the loop.</summary>
    /// <param name="console">The console.</param>
    /// <param name="format">The resolved format.</param>
    /// <param name="source">What to read.</param>
    /// <param name="settings">Interval, ticks, top.</param>
    /// <param name="numericKeys">Show keys as numbers.</param>
    /// <param name="cancel">Stops the loop.</param>
    /// <returns>The model, for totals.</returns>
    public static WatchModel Run(CliConsole console, OutputFormat format, IWatchSource source, WatchSettings settings, bool numericKeys, CancellationToken cancel)
    {
        var model = new WatchModel(settings.Top, source.YieldsIncrements);
        var clock = Stopwatch.StartNew();
        double last = 0;
        WatchFrame Tick()
        {
            model.BeginTick();
            source.Read(model.Add);
            double now = clock.Elapsed.TotalSeconds;
            WatchFrame f = model.EndTick(now - last);
            last = now;
            return f;
        }

        bool More(int tick) => !cancel.IsCancellationRequested && (settings.Ticks == 0 || tick < settings.Ticks);
        void Sleep()
        {
            cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(settings.Interval));
        }

        if (format == OutputFormat.Table)
        {
            WatchFrame first = Tick();
            console.Out.Live(WatchTable.Build(source.Description, first, numericKeys)).AutoClear(false).Start(ctx =>
            {
                int tick = 1;
                while (More(tick))
                {
                    Sleep();
                    if (cancel.IsCancellationRequested)
                    {
                        break;
                    }

                    ctx.UpdateTarget(WatchTable.Build(source.Description, Tick(), numericKeys));
                    tick++;
                }
            });
            return model;
        }

        IWatchRenderer r = format is OutputFormat.Json or OutputFormat.Ndjson
            ? new JsonWatchRenderer(console.Stdout)
            : new PlainWatchRenderer(console.Stdout, numericKeys);
        r.Frame(Tick());
        int n = 1;
        while (More(n))
        {
            Sleep();
            if (cancel.IsCancellationRequested)
            {
                break;
            }

            r.Frame(Tick());
            n++;
        }

        return model;
    }
}
