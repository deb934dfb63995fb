using System.Diagnostics;
using System.Globalization;
using BpfMaps.Cli.Demo;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Watch;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// <c>demo [--seconds S]</c>: starts writers counting into a map, shows <c>watch --drain</c> on it for a few
/// seconds, stops the writers, drains what is left, and prints the reconciliation
/// <c>produced = drained + remaining, 0 lost</c>.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
/// <param name="workloads">Creates the workload (the seam for BPF writers and the in-process engine).</param>
internal sealed class DemoCommand(CliConsole console, GlobalOptions options, Func<IDemoWorkload> workloads)
{
    /// <summary>Runs the demo.</summary>
    /// <param name="seconds">How long to watch.</param>
    /// <returns>The exit code: <see cref="ExitCode.Failure"/> if anything was lost.</returns>
    public ExitCode Run(double seconds)
    {
        Seconds.Check(seconds, "demo: --seconds");

        using IDemoWorkload w = workloads();
        WriteLine($"demo: {w.Description}");
        double interval = Math.Min(1.0, seconds / 4);
        int ticks = 1 + Math.Max(1, (int)Math.Round(seconds / interval));
        using var interrupt = new Interrupt();
        var clock = Stopwatch.StartNew();
        w.Start();
        WatchModel model = WatchLoop.Run(console, options.Resolve(console.StdoutIsTerminal), w.Source, new WatchSettings(interval, ticks, 10), numericKeys: true, interrupt.Token);
        w.Stop();
        long produced = w.Produced;
        long drained = (long)model.Drained;
        long remaining = w.DrainRemaining();
        long lost = produced - drained - remaining;
        WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reconciliation after {clock.Elapsed.TotalSeconds:F1} s: produced {produced:N0} = drained {drained:N0} + remaining {remaining:N0}, {lost:N0} lost"));
        return lost == 0 ? ExitCode.Ok : ExitCode.Failure;
    }

    private void WriteLine(string s)
    {
        console.Stdout.Write(System.Text.Encoding.UTF8.GetBytes(s + "\n"));
        console.Stdout.Flush();
    }
}
