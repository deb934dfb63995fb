using System.Globalization;
using BpfMaps.InProcess;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// <c>bench --scenario lookup</c>: what one point lookup costs in the in-process engine and in the kernel
/// (BPF_MAP_LOOKUP_ELEM, one bpf() syscall), through the same typed view, on the same 100,000 scattered
/// u32 keys in a hash of 200,000. Timed in this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that
/// other load on the machine, which stretches wall time, does not enter the ratio; rounds alternate
/// between the two and the fastest round of each is kept. BenchmarkDotNet's <c>LookupBenchmarks</c>
/// measures the same in wall time. A second pass looks up 1,024 of the keys only, so that the engine's
/// buckets stay in the CPU's caches: with 100,000 scattered keys nearly all of the engine's time is the
/// one cache miss on the bucket (perf annotate: 95% of its samples on that load), which the kernel pays too.
/// </summary>
internal static class LookupBench
{
    private const int Keys = 100_000;
    private const int Ops = 1 << 18;
    private const int HotKeys = 1024;

    /// <summary>Times both and prints the per-lookup costs and their ratio.</summary>
    /// <param name="console">The console.</param>
    /// <param name="runs">Rounds (at least 5 are made).</param>
    /// <param name="log">Progress goes here.</param>
    public static void Run(Hosting.CliConsole console, int runs, TextWriter log)
    {
        var spec = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Keys * 2 };
        using BpfMap engineMap = InProcessMap.Create(spec);
        using BpfMap kernelMap = BpfMap.Create(spec);
        var engine = new BpfMap<uint, ulong>(engineMap);
        var kernel = new BpfMap<uint, ulong>(kernelMap);
        var rnd = new Random(13);
        var keys = new HashSet<uint>();
        while (keys.Count < Keys)
        {
            keys.Add((uint)rnd.NextInt64(0, uint.MaxValue));
        }

        uint[] universe = [.. keys];
        ulong[] values = [.. Enumerable.Range(0, Keys).Select(i => (ulong)i)];
        engine.UpdateBatch(universe, values);
        kernel.UpdateBatch(universe, values);
        uint[] scattered = [.. Enumerable.Range(0, Ops).Select(_ => universe[rnd.Next(Keys)])];
        uint[] cached = [.. Enumerable.Range(0, Ops).Select(_ => universe[rnd.Next(HotKeys)])];

        int rounds = Math.Max(5, runs);
        using var w = new StreamWriter(console.Stdout, leaveOpen: true);
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Point lookup, BpfMap<uint, ulong>.TryLookup in a hash of {Keys:N0} entries, CPU time per lookup, best of {rounds} rounds of {Ops:N0}"));
        foreach ((string name, uint[] sequence) in new[] { ($"{Keys:N0} scattered keys", scattered), ($"{HotKeys:N0} keys (cached)", cached) })
        {
            double bestEngine = double.MaxValue, bestKernel = double.MaxValue;
            _ = Lookups(engine, sequence);
            _ = Lookups(kernel, sequence);
            for (int r = 0; r < rounds; r++)
            {
                bestEngine = Math.Min(bestEngine, Lookups(engine, sequence));
                bestKernel = Math.Min(bestKernel, Lookups(kernel, sequence));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: lookup, {name}, round {r + 1}/{rounds}: engine {bestEngine * 1e9:F1} ns, kernel {bestKernel * 1e9:F1} ns (best so far, CPU time per lookup)"));
            }

            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-24} in-process engine {bestEngine * 1e9,7:F1} ns, kernel (bpf syscall) {bestKernel * 1e9,7:F1} ns: the engine is {bestKernel / bestEngine:F0}x cheaper"));
        }
    }

    /// <summary>CPU seconds per lookup of one pass over <paramref name="sequence"/>.</summary>
    private static double Lookups(BpfMap<uint, ulong> map, uint[] sequence)
    {
        double t0 = ThreadCpu();
        ulong sum = 0;
        foreach (uint k in sequence)
        {
            if (!map.TryLookup(k, out ulong v))
            {
                throw new InvalidOperationException($"bench: key {k} missing");
            }

            sum += v;
        }

        double t = ThreadCpu() - t0;
        GC.KeepAlive(sum);
        return t / sequence.Length;
    }

    private static double ThreadCpu() => Interop.ThreadCpuClock.Seconds();
}
