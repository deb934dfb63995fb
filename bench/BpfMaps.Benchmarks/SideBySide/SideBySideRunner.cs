using System.Diagnostics;
using System.Globalization;
using BpfMaps.Features;

namespace BpfMaps.Benchmarks.SideBySide;

/// <summary>
/// Full dumps of the same kernel map, in one run: BpfMaps <c>Dump()</c>, typed <c>Dump()</c>, a raw C
/// loop of BPF_MAP_LOOKUP_BATCH (compiled here with gcc), and a get_next_key + lookup loop. Prints
/// entries/s, ratios against the C loop, and bytes allocated per entry in steady state. Then the event maps
/// (<see cref="EventsSideBySide"/>): a ring buffer drained by BpfMaps and by libbpf, and an mmapable array's dump
/// from memory against the batch dump, and a perf event array drained by BpfMaps and by libbpf's perf_buffer.
/// <c>--only dump,ringbuf,perfbuf,mmap</c> picks scenarios.
/// </summary>
public static class SideBySideRunner
{
    public static int Run(string[] args)
    {
        int hashEntries = 1_000_000, perCpuEntries = 100_000, rounds = 5, ringRecords = 2_000_000, mmapEntries = 1_000_000, perfRecords = 1_000_000;
        string[] only = ["dump", "ringbuf", "perfbuf", "mmap"];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--entries": hashEntries = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--percpu-entries": perCpuEntries = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--ring-records": ringRecords = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--mmap-entries": mmapEntries = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--perf-records": perfRecords = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--only": only = args[i + 1].Split(','); break;
            }
        }

        if (BpfFeatures.WhyUnavailable() is { } why)
        {
            Console.Error.WriteLine($"side-by-side: bpf() unavailable: {why}");
            return 2;
        }

        bool ok = true;
        if (only.Contains("dump"))
        {
            string cLoop = CompileCLoop();
            Console.WriteLine($"batch size {DumpOptions.DefaultBatchSize}, best of {rounds} rounds, {PossibleCpus.Count} possible CPUs");
            ok &= Scenario(MapType.Hash, hashEntries, rounds, cLoop);
            ok &= Scenario(MapType.PerCpuHash, perCpuEntries, rounds, cLoop);
        }

        if (only.Contains("ringbuf"))
        {
            ok &= EventsSideBySide.RingBuffer(ringRecords, rounds);
        }

        if (only.Contains("perfbuf"))
        {
            ok &= EventsSideBySide.PerfBuffer(perfRecords, rounds);
        }

        if (only.Contains("mmap"))
        {
            ok &= EventsSideBySide.MmapDump(mmapEntries, rounds);
        }

        return ok ? 0 : 1;
    }

    private static bool Scenario(MapType type, int entries, int rounds, string cLoop)
    {
        using var map = BpfMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = entries, Name = "bench_" + (type == MapType.Hash ? "hash" : "pcpu") });
        Fill(map, entries);
        Console.WriteLine();
        Console.WriteLine($"{type.KernelName()}: {entries:N0} entries, u32 keys, u64 values{(map.IsPerCpu ? $" x {map.Cpus} CPUs" : "")}");

        var results = new List<(string Name, double Seconds, long Entries)>
        {
            Best("BpfMaps Dump()", rounds, () => DumpUntyped(map)),
            Best("BpfMaps typed Dump()", rounds, () => map.IsPerCpu ? DumpPerCpu(map) : DumpTyped(map)),
            CLoop(map, cLoop, rounds),
            Best("get_next_key + lookup", Math.Max(1, rounds / 2), () => NextKeyLoop(map)),
        };

        double c = results[2].Entries / results[2].Seconds;
        Console.WriteLine($"  {"method",-26} {"entries",10} {"entries/s",14} {"vs C loop",10}");
        foreach (var (name, seconds, n) in results)
        {
            double rate = n / seconds;
            Console.WriteLine($"  {name,-26} {n,10:N0} {rate,14:N0} {rate / c,9:F2}x");
        }

        long allocated = AllocatedPerDump(map);
        double perEntry = (double)allocated / entries;
        double dumpRate = results[0].Entries / results[0].Seconds;
        double vsC = dumpRate / c;
        double vsNext = dumpRate / (results[3].Entries / results[3].Seconds);
        Console.WriteLine($"  steady-state Dump() allocated {allocated:N0} B in total, {perEntry:F4} B/entry");
        Console.WriteLine($"  targets: Dump/C loop {vsC:F2}x (>= 0.95x: {Verdict(vsC >= 0.95)}), Dump/get_next_key {vsNext:F1}x (>= 6x: {Verdict(vsNext >= 6)}), 0 B/entry: {Verdict(perEntry < 0.01)}");
        return vsC >= 0.95 && vsNext >= 6 && perEntry < 0.01;
    }

    private static string Verdict(bool ok) => ok ? "met" : "MISSED";

    private static void Fill(BpfMap map, int entries)
    {
        const int chunk = 65536;
        byte[] keys = new byte[chunk * 4];
        byte[] values = new byte[chunk * map.ValueBufferSize];
        for (int start = 0; start < entries; start += chunk)
        {
            int n = Math.Min(chunk, entries - start);
            for (int i = 0; i < n; i++)
            {
                BitConverter.TryWriteBytes(keys.AsSpan(i * 4), (uint)(start + i));
                for (int cpu = 0; cpu < map.Cpus; cpu++)
                {
                    BitConverter.TryWriteBytes(values.AsSpan(i * map.ValueBufferSize + cpu * map.ValueStride), (ulong)(start + i + cpu));
                }
            }

            map.UpdateBatch(keys.AsSpan(0, n * 4), values.AsSpan(0, n * map.ValueBufferSize), n);
        }
    }

    private static (string, double, long) Best(string name, int rounds, Func<long> run)
    {
        run(); // warm-up: JIT and page faults
        double best = double.MaxValue;
        long n = 0;
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            n = run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        return (name, best, n);
    }

    private static long DumpUntyped(BpfMap map)
    {
        long n = 0;
        ulong sum = 0;
        foreach (MapEntry e in map.Dump())
        {
            sum += e.Value[0];
            n++;
        }

        GC.KeepAlive(sum);
        return n;
    }

    private static long DumpTyped(BpfMap map)
    {
        long n = 0;
        ulong sum = 0;
        foreach (var (_, v) in new BpfMap<uint, ulong>(map).Dump())
        {
            sum += v;
            n++;
        }

        GC.KeepAlive(sum);
        return n;
    }

    private static long DumpPerCpu(BpfMap map)
    {
        long n = 0;
        ulong sum = 0;
        foreach (var e in new PerCpuBpfMap<uint, ulong>(map).Dump())
        {
            sum += e.Values[0];
            n++;
        }

        GC.KeepAlive(sum);
        return n;
    }

    private static long NextKeyLoop(BpfMap map)
    {
        byte[] key = new byte[4], next = new byte[4], value = new byte[map.ValueBufferSize];
        long n = 0;
        bool first = true;
        while (map.TryGetNextKey(first ? ReadOnlySpan<byte>.Empty : key, next))
        {
            first = false;
            if (map.TryLookup(next, value))
            {
                n++;
            }

            next.CopyTo(key, 0);
        }

        return n;
    }

    private static long AllocatedPerDump(BpfMap map)
    {
        DumpUntyped(map);
        long before = GC.GetAllocatedBytesForCurrentThread();
        DumpUntyped(map);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static (string, double, long) CLoop(BpfMap map, string exe, int rounds)
    {
        // The C program times `rounds` full dumps internally; its own start-up is not counted.
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
        };
        foreach (string a in new[] { map.Id.ToString(CultureInfo.InvariantCulture), "4", map.ValueBufferSize.ToString(CultureInfo.InvariantCulture), DumpOptions.DefaultBatchSize.ToString(CultureInfo.InvariantCulture), "1" })
        {
            psi.ArgumentList.Add(a);
        }

        double best = double.MaxValue;
        long n = 0;
        for (int r = 0; r < rounds + 1; r++)
        {
            using var p = Process.Start(psi)!;
            string[] parts = p.StandardOutput.ReadToEnd().Trim().Split(' ');
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{exe} failed with {p.ExitCode}");
            }

            n = long.Parse(parts[0], CultureInfo.InvariantCulture);
            double s = long.Parse(parts[1], CultureInfo.InvariantCulture) / 1e9;
            if (r > 0)
            {
                best = Math.Min(best, s);
            }
        }

        return ("C LOOKUP_BATCH loop", best, n);
    }

    private static string CompileCLoop()
    {
        string src = Path.Combine(AppContext.BaseDirectory, "SideBySide", "batch_loop.c");
        string exe = Path.Combine(Path.GetTempPath(), $"bpfmaps_batch_loop_{Environment.ProcessId}");
        using var p = Process.Start("gcc", ["-O2", "-o", exe, src])!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("gcc failed to build the C baseline (scripts/setup.sh installs gcc)");
        }

        return exe;
    }
}
