using System.Diagnostics;
using System.Globalization;
using BpfMaps.Events;
using BpfMaps.Programs;

namespace BpfMaps.Benchmarks.SideBySide;

/// <summary>
/// The event-map scenarios of the side-by-side runner: draining a ring buffer with the library against libbpf's
/// ring_buffer__consume and ring_buffer__poll (a C program compiled here with gcc and -lbpf) over the same records
/// from the same producer, the same for a perf event array against libbpf's perf_buffer, and the dump of a
/// 1M-entry mmapable array read from memory against the batch dump.
/// </summary>
internal static class EventsSideBySide
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();

    /// <summary>Sums the sequence numbers, as the C callback does.</summary>
    private struct SumHandler : IRecordHandler
    {
        public ulong Sum;
        public long Records;

        public void OnRecord(ReadOnlySpan<byte> record)
        {
            Sum += System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(record[8..]);
            Records++;
        }
    }

    public static bool RingBuffer(int records, int rounds)
    {
        string cConsumer = Compile("ringbuf_consume.c", "-lbpf");
        int ringSize = (int)Math.Min(1L << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)records * 32 + 4096));
        using BpfMap ring = BpfMap.Create(new MapSpec { Type = MapType.RingBuf, KeySize = 0, ValueSize = 0, MaxEntries = ringSize, Name = "bench_ring" });
        using BpfMap state = EventProgram.CreateStateMap("bench_rstate");
        using BpfProgram producer = EventProgram.Load(ring, state);
        using RingBuffer reader = Events.RingBuffer.Open(ring);
        Console.WriteLine();
        // The producer runs on CPU 0 and both consumers on the same other CPU, so neither gets a better place from the scheduler.
        int consumerCpu = Environment.ProcessorCount > 1 ? 1 : 0;
        string? taskset = File.Exists("/usr/bin/taskset") ? "/usr/bin/taskset" : null;
        Console.WriteLine($"ringbuf: {records:N0} records of 24 bytes (32 in the ring) written by EventProgram test runs on CPU 0, then drained on CPU {consumerCpu}{(taskset is null ? " (libbpf unpinned: no taskset)" : "")}; ring {ringSize >> 20} MiB; best of {rounds}");

        void Fill()
        {
            for (int done = 0; done < records;)
            {
                int n = Math.Min(1_000_000, records - done);
                producer.TestRunOnCpu(0, Packet, n);
                done += n;
            }

            if (reader.AvailableBytes != (long)records * 32)
            {
                throw new InvalidOperationException($"the producer filled {reader.AvailableBytes} bytes, expected {(long)records * 32}");
            }
        }

        double Library(bool poll)
        {
            Fill();
            double s = TimedOnCpu(
                consumerCpu,
                poll
                    ? (ref SumHandler h) =>
                    {
                        while (h.Records < records)
                        {
                            reader.Poll(TimeSpan.FromMilliseconds(100), ref h);
                        }
                    }
                    : (ref SumHandler h) => reader.Consume(ref h),
                out SumHandler h);
            if (h.Records != records)
            {
                throw new InvalidOperationException($"consumed {h.Records} of {records}");
            }

            return s;
        }

        double Libbpf(string mode)
        {
            Fill();
            var psi = new ProcessStartInfo(taskset ?? cConsumer) { RedirectStandardOutput = true };
            if (taskset is not null)
            {
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(consumerCpu.ToString(CultureInfo.InvariantCulture));
                psi.ArgumentList.Add(cConsumer);
            }

            psi.ArgumentList.Add(ring.Id.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(records.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(mode);
            using var p = Process.Start(psi)!;
            string[] parts = p.StandardOutput.ReadToEnd().Trim().Split(' ');
            p.WaitForExit();
            if (p.ExitCode != 0 || long.Parse(parts[0], CultureInfo.InvariantCulture) != records)
            {
                throw new InvalidOperationException($"{cConsumer} failed ({p.ExitCode}): {string.Join(' ', parts)}");
            }

            return long.Parse(parts[1], CultureInfo.InvariantCulture) / 1e9;
        }

        for (int w = 0; w < 3; w++)
        {
            Library(w == 1); // warm-up: page faults of the mapping, JIT
        }

        // Rounds interleave the four consumers, so a busy spell on the machine slows all of them alike.
        (string Name, Func<double> Run)[] consumers =
        [
            ("BpfMaps Consume (struct)", () => Library(false)),
            ("libbpf ring_buffer__consume", () => Libbpf("consume")),
            ("BpfMaps Poll (struct)", () => Library(true)),
            ("libbpf ring_buffer__poll", () => Libbpf("poll")),
        ];
        double[] best = [.. consumers.Select(_ => double.MaxValue)];
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < consumers.Length; i++)
            {
                best[i] = Math.Min(best[i], consumers[i].Run());
            }
        }

        var results = consumers.Select((c, i) => (c.Name, Seconds: best[i])).ToList();
        Console.WriteLine($"  {"consumer",-30} {"records/s",14} {"ns/record",10} {"vs libbpf",10}");
        for (int i = 0; i < results.Count; i++)
        {
            double baseline = results[i - (i % 2) + 1].Seconds;
            Console.WriteLine($"  {results[i].Name,-30} {records / results[i].Seconds,14:N0} {results[i].Seconds * 1e9 / records,10:F2} {baseline / results[i].Seconds,9:F2}x");
        }

        Library(false);
        double perRecord = (double)s_lastAllocated / records;
        double consumeRatio = results[1].Seconds / results[0].Seconds, pollRatio = results[3].Seconds / results[2].Seconds;
        Console.WriteLine($"  allocated by Consume: {s_lastAllocated:N0} B in total, {perRecord:F4} B/record");
        Console.WriteLine($"  targets: Consume/libbpf {consumeRatio:F2}x (>= 1.0x: {Verdict(consumeRatio >= 1.0)}), Poll/libbpf {pollRatio:F2}x (>= 1.0x: {Verdict(pollRatio >= 1.0)}), 0 B/record: {Verdict(perRecord < 0.01)}");
        return consumeRatio >= 1.0 && pollRatio >= 1.0 && perRecord < 0.01;
    }

    private static long s_lastAllocated;

    private delegate void ConsumeAll(ref SumHandler handler);

    /// <summary>
    /// Runs <paramref name="consume"/> pinned to <paramref name="cpu"/>, and returns its wall time in seconds;
    /// what it allocated on this thread goes to <see cref="s_lastAllocated"/>.
    /// </summary>
    private static double TimedOnCpu(int cpu, ConsumeAll consume, out SumHandler handler)
    {
        handler = default;
        Span<byte> saved = stackalloc byte[Kernel.CpuAffinity.MaskBytes];
        Kernel.CpuAffinity.Get(saved);
        Kernel.CpuAffinity.Pin(cpu);
        try
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            consume(ref handler);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            s_lastAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            return s;
        }
        finally
        {
            Kernel.CpuAffinity.Set(saved);
        }
    }

    /// <summary>
    /// A perf event array drained by <see cref="Events.PerfBuffer"/> and by libbpf's perf_buffer (perf_buffer__consume
    /// and a perf_buffer__poll loop in <c>perfbuf_consume.c</c>), over the same records from the same producer: each
    /// round opens the reader (its events go into the map), fills CPU 0's ring with EventProgram test runs, then times
    /// the drain, pinned to another CPU. Both open a ring on every online CPU, with the same size and a wake-up per sample.
    /// </summary>
    public static bool PerfBuffer(int records, int rounds)
    {
        string cConsumer = Compile("perfbuf_consume.c", "-lbpf");

        // A 24-byte sample takes 40 bytes in the ring (8 header, 4 size, the data and 4 of padding).
        int page = Environment.SystemPageSize;
        int pages = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)((long)records * 40 / page + 1));
        using BpfMap perf = BpfMap.Create(new MapSpec { Type = MapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = PossibleCpus.Count, Name = "bench_perf" });
        using BpfMap state = EventProgram.CreateStateMap("bench_pstate");
        using BpfProgram producer = EventProgram.Load(perf, state, new EventProgramOptions { Output = EventOutput.PerfEventOutput });
        int consumerCpu = Environment.ProcessorCount > 1 ? 1 : 0;
        string? taskset = File.Exists("/usr/bin/taskset") ? "/usr/bin/taskset" : null;
        Console.WriteLine();
        Console.WriteLine($"perf event array: {records:N0} samples of 24 bytes (40 in the ring) written by EventProgram test runs on CPU 0, then drained on CPU {consumerCpu}{(taskset is null ? " (libbpf unpinned: no taskset)" : "")}; "
            + $"{pages} pages ({(long)pages * page >> 20} MiB) a ring on each of {Environment.ProcessorCount} CPUs; best of {rounds}");

        void Fill()
        {
            EventProducerCounters before = EventProgram.ReadCounters(state)[0];
            for (int done = 0; done < records;)
            {
                int n = Math.Min(1_000_000, records - done);
                int err = producer.TestRunOnCpuOrErrno(0, Packet, n, out _);
                if (err is not (0 or Errno.EINTR))
                {
                    throw new InvalidOperationException($"test run: {Errno.Name(err)}");
                }

                EventProducerCounters now = EventProgram.ReadCounters(state)[0];
                done = (int)(now.Accepted + now.Dropped - before.Accepted - before.Dropped);
            }

            EventProducerCounters after = EventProgram.ReadCounters(state)[0];
            if (after.Dropped != before.Dropped)
            {
                throw new InvalidOperationException($"{after.Dropped - before.Dropped} samples were refused while filling (no reader, or a ring too small)");
            }
        }

        double Library(bool poll)
        {
            using Events.PerfBuffer reader = Events.PerfBuffer.Open(perf, new PerfBufferOptions { PagesPerCpu = pages });
            Fill();
            double s = TimedOnCpu(
                consumerCpu,
                poll
                    ? (ref SumHandler h) =>
                    {
                        while (h.Records < records)
                        {
                            reader.Poll(TimeSpan.FromMilliseconds(100), ref h);
                        }
                    }
                    : (ref SumHandler h) => reader.Consume(ref h),
                out SumHandler h);
            if (h.Records != records || reader.LostCount != 0)
            {
                throw new InvalidOperationException($"consumed {h.Records} of {records}, {reader.LostCount} lost");
            }

            return s;
        }

        double Libbpf(string mode)
        {
            var psi = new ProcessStartInfo(taskset ?? cConsumer) { RedirectStandardOutput = true, RedirectStandardInput = true };
            if (taskset is not null)
            {
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(consumerCpu.ToString(CultureInfo.InvariantCulture));
                psi.ArgumentList.Add(cConsumer);
            }

            psi.ArgumentList.Add(perf.Id.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(records.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(pages.ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add(mode);
            using var p = Process.Start(psi)!;
            if (p.StandardOutput.ReadLine() != "ready")
            {
                p.WaitForExit();
                throw new InvalidOperationException($"{cConsumer} did not start ({p.ExitCode})");
            }

            Fill();
            p.StandardInput.WriteLine("go");
            p.StandardInput.Flush();
            string[] parts = p.StandardOutput.ReadToEnd().Trim().Split(' ');
            p.WaitForExit();
            if (p.ExitCode != 0 || long.Parse(parts[0], CultureInfo.InvariantCulture) != records)
            {
                throw new InvalidOperationException($"{cConsumer} failed ({p.ExitCode}): {string.Join(' ', parts)}");
            }

            return long.Parse(parts[1], CultureInfo.InvariantCulture) / 1e9;
        }

        for (int w = 0; w < 3; w++)
        {
            Library(w == 1);
        }

        (string Name, Func<double> Run)[] consumers =
        [
            ("BpfMaps Consume (struct)", () => Library(false)),
            ("libbpf perf_buffer__consume", () => Libbpf("consume")),
            ("BpfMaps Poll (struct)", () => Library(true)),
            ("libbpf perf_buffer__poll", () => Libbpf("poll")),
        ];
        double[] best = [.. consumers.Select(_ => double.MaxValue)];
        var all = consumers.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < consumers.Length; i++)
            {
                double s = consumers[i].Run();
                all[i].Add(s);
                best[i] = Math.Min(best[i], s);
            }
        }

        Console.WriteLine($"  {"consumer",-30} {"records/s",14} {"ns/record",10} {"median ns",10} {"vs libbpf",10}");
        for (int i = 0; i < consumers.Length; i++)
        {
            double baseline = best[i - (i % 2) + 1];
            double median = all[i].Order().ElementAt(all[i].Count / 2);
            Console.WriteLine($"  {consumers[i].Name,-30} {records / best[i],14:N0} {best[i] * 1e9 / records,10:F2} {median * 1e9 / records,10:F2} {baseline / best[i],9:F2}x");
        }

        Library(false);
        double perRecord = (double)s_lastAllocated / records;
        double consumeRatio = best[1] / best[0], pollRatio = best[3] / best[2];
        Console.WriteLine($"  allocated by Consume: {s_lastAllocated:N0} B in total, {perRecord:F4} B/record");
        Console.WriteLine($"  targets: Consume/libbpf {consumeRatio:F2}x (>= 1.0x: {Verdict(consumeRatio >= 1.0)}), Poll/libbpf {pollRatio:F2}x (>= 1.0x: {Verdict(pollRatio >= 1.0)}), 0 B/record: {Verdict(perRecord < 0.01)}");
        return consumeRatio >= 1.0 && pollRatio >= 1.0 && perRecord < 0.01;
    }

    public static bool MmapDump(int entries, int rounds)
    {
        using BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = entries, Flags = MapFlags.Mmapable, Name = "bench_mmap" });
        using (MapMemory memory = map.OpenMemory())
        {
            Span<ulong> values = memory.AsSpan<ulong>();
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (ulong)i * 3;
            }
        }

        Console.WriteLine();
        Console.WriteLine($"mmapable array: {entries:N0} entries, u32 keys, u64 values; best of {rounds}");
        var batch = new DumpOptions { Method = DumpMethod.Batch };
        (string Name, double Seconds)[] results =
        [
            Best("Dump() from memory", rounds, () => Sum(map, DumpOptions.Default, expectMemory: true)),
            Best("typed Dump() from memory", rounds, () => SumTyped(map)),
            Best("Dump() with LOOKUP_BATCH", rounds, () => Sum(map, batch, expectMemory: false)),
        ];
        Console.WriteLine($"  {"method",-28} {"entries/s",14} {"ms",8} {"vs batch",9}");
        foreach (var (name, s) in results)
        {
            Console.WriteLine($"  {name,-28} {entries / s,14:N0} {s * 1e3,8:F2} {results[2].Seconds / s,8:F1}x");
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        Sum(map, DumpOptions.Default, expectMemory: true);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        double ratio = results[2].Seconds / results[0].Seconds;
        Console.WriteLine($"  allocated per memory dump: {allocated:N0} B");
        Console.WriteLine($"  targets: memory/batch {ratio:F1}x (>= 20x: {Verdict(ratio >= 20)})");
        return ratio >= 20;

        // Both loops at full optimization from the start: what is measured is the dump, not the tiering of the loop.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        static ulong Sum(BpfMap map, DumpOptions options, bool expectMemory)
        {
            using (MapEnumerator check = map.Dump(options).GetEnumerator())
            {
                if (check.ReadsMemory != expectMemory)
                {
                    throw new InvalidOperationException($"the dump {(expectMemory ? "did not read" : "read")} memory");
                }
            }

            ulong sum = 0;
            foreach (MapEntry e in map.Dump(options))
            {
                sum += System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(e.Value);
            }

            return sum;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        static ulong SumTyped(BpfMap map)
        {
            ulong sum = 0;
            foreach (var (_, v) in new BpfMap<uint, ulong>(map).Dump())
            {
                sum += v;
            }

            return sum;
        }
    }

    private static (string, double) Best(string name, int rounds, Func<ulong> run)
    {
        // Warm up for half a second, so the loops are at their final tier before anything is timed.
        long warm = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warm) < TimeSpan.FromMilliseconds(500))
        {
            run();
        }

        double best = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        return (name, best);
    }

    private static string Verdict(bool ok) => ok ? "met" : "MISSED";

    private static string Compile(string source, string libs)
    {
        string src = Path.Combine(AppContext.BaseDirectory, "SideBySide", source);
        string exe = Path.Combine(Path.GetTempPath(), $"bpfmaps_{Path.GetFileNameWithoutExtension(source)}_{Environment.ProcessId}");
        using var p = Process.Start("gcc", ["-O2", "-o", exe, src, libs])!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"gcc failed to build {source} (scripts/setup.sh installs gcc and libbpf-dev)");
        }

        return exe;
    }
}
