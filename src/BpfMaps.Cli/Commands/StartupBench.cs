using System.Diagnostics;
using System.Globalization;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// <c>bench --scenario startup</c>: the wall time of <c>bpfmap show</c> (every map on the machine, with a few
/// small ones this creates so that there are some) against <c>bpftool map show</c>, many runs each,
/// interleaved, the median shown. Both write to a pipe bench reads, so the numbers include starting a
/// process from bench, which bpftool's time shows: that is the floor. Target: at most 5 ms for the AOT build.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="settings">The settings (7 runs of each tool per <see cref="BenchSettings.Runs"/>).</param>
internal sealed class StartupBench(CliConsole console, BenchSettings settings)
{
    private const double TargetMs = 5;

    /// <summary>Creates the maps, times, and prints the table and the verdict.</summary>
    /// <param name="log">Progress goes here.</param>
    /// <returns>False when a tool failed.</returns>
    public bool Run(TextWriter log)
    {
        var maps = new List<BpfMap>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                maps.Add(BpfMap.Create(new MapSpec { Type = i == 1 ? MapType.Array : MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = $"bpfmap_start{i}" }));
            }

            int count = BpfMap.GetSystemMapIds().Count;
            log.WriteLine($"bench: startup: {count} maps on this machine");
            var tools = BenchCommand.Variants(settings, BenchScenario.Startup, ["show"]);
            for (int i = 0; i < tools.Count; i++)
            {
                tools[i] = (tools[i].Name.Replace("-j dump", "show", StringComparison.Ordinal), tools[i].Start);
            }

            var theirs = new ProcessStartInfo(settings.Bpftool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            theirs.ArgumentList.Add("map");
            theirs.ArgumentList.Add("show");
            tools.Add(("bpftool map show", theirs));
            int runs = settings.Runs * 7;
            List<BenchResult> results = BenchCommand.TimeInterleaved(tools, runs, BenchOutput.Pipe, log);

            using var w = new StreamWriter(console.Stdout, leaveOpen: true);
            w.WriteLine($"Start-up: show with {count} maps on the machine, median of {runs}, interleaved, output to a pipe bench reads");
            foreach (BenchResult r in results)
            {
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Tool,-22} {r.Seconds * 1000,8:F1} ms  {r.CpuSeconds * 1000,6:F1} ms CPU"));
            }

            if (results.FirstOrDefault(r => r.Tool.StartsWith("bpfmap AOT", StringComparison.Ordinal)) is { } aot)
            {
                double ms = aot.Seconds * 1000;
                w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"startup: AOT bpfmap show: {ms:F1} ms (target <= {TargetMs:F0} ms: {(ms <= TargetMs ? "met" : $"short by {ms - TargetMs:F1} ms")})"));
            }
            else
            {
                w.WriteLine("startup: AOT bpfmap show: not timed: run bench from the NativeAOT build, or pass --aot PATH");
            }

            return results.All(r => r.ExitCode == 0);
        }
        finally
        {
            foreach (BpfMap m in maps)
            {
                m.Dispose();
            }
        }
    }
}
