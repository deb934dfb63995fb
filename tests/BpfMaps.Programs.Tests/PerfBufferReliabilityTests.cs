using System.Diagnostics;
using BpfMaps.Events;

namespace BpfMaps.Programs.Tests;

/// <summary>
/// Producers at full speed on every CPU (the event program with bpf_perf_event_output, test-run by one thread pinned
/// to each CPU) against one perf buffer reader: every sample the kernel accepted arrives exactly once, in order per
/// CPU, whole (wrapped ones too); every sample it refused is counted by a PERF_RECORD_LOST on that CPU's ring, so
/// accepted = received and dropped = reported lost, per CPU. Runs per CPU: 1,000,000 (100,000 where every sample wakes
/// the reader) times BPFMAPS_SOAK_ITER (default 1).
/// </summary>
public class PerfBufferReliabilityTests : KernelTest
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();
    private readonly ITestOutputHelper? _out = TestContext.Current.TestOutputHelper;

    private static int SoakFactor => BpfMaps.Tests.Common.Soak.Iterations();

    /// <summary>Checks each sample against the next sequence number expected from its CPU; sums lost reports per CPU.</summary>
    private sealed class Checker(int cpus) : IPerfRecordHandler
    {
        public readonly ulong[] Next = new ulong[cpus];
        public readonly long[] Received = new long[cpus];
        public readonly ulong[] Lost = new ulong[cpus];
        public long Missing, Duplicated, Torn, Foreign, Misplaced;
        public readonly List<string> First = [];

        public void OnSample(in PerfSample sample)
        {
            if (!SequencedEvent.TryRead(sample.Data, out SequencedEvent e))
            {
                Torn++;
                Note($"torn sample of {sample.Data.Length} bytes on CPU {sample.Cpu}: {Convert.ToHexString(sample.Data[..Math.Min(sample.Data.Length, 32)])}");
                return;
            }

            if (e.Cpu >= (uint)Next.Length)
            {
                Foreign++;
                Note($"sample from CPU {e.Cpu}");
                return;
            }

            if (e.Cpu != (uint)sample.Cpu || sample.Index != sample.Cpu)
            {
                Misplaced++;
                Note($"a CPU {e.Cpu} sample in the ring of CPU {sample.Cpu} (slot {sample.Index})");
            }

            ulong expected = Next[e.Cpu];
            if (e.Sequence > expected)
            {
                Missing += (long)(e.Sequence - expected);
                Note($"CPU {e.Cpu}: expected sequence {expected}, got {e.Sequence}");
            }
            else if (e.Sequence < expected)
            {
                Duplicated++;
                Note($"CPU {e.Cpu}: sequence {e.Sequence} again (or out of order) after {expected - 1}");
                return;
            }

            Received[e.Cpu]++;
            Next[e.Cpu] = e.Sequence + 1;
        }

        public void OnLost(in PerfLost lost) => Lost[lost.Cpu] += lost.Count;

        private void Note(string what)
        {
            if (First.Count < 10)
            {
                First.Add(what);
            }
        }
    }

    // A wake-up per sample costs the kernel an irq_work and the reader a context switch (about 10 us a sample here), so
    // the cases that wake on every sample run a tenth as often; the others wake on a watermark or every 16 samples.
    [Theory]
    [InlineData(64, 24, false, 0, 128 << 10, 1)]
    [InlineData(8, 40, true, 1, 0, 10)]
    [InlineData(1, 256, false, 1, 0, 10)]
    [InlineData(2, 64, true, 16, 0, 1)]
    public async Task Every_accepted_sample_arrives_once_in_order_and_whole_and_every_refused_one_is_reported_lost(int pages, int recordSize, bool timestamps, int wakeupEvents, int watermark, int fewer)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int cpus = Environment.ProcessorCount;
        long perCpu = 1_000_000L * SoakFactor / fewer;

        using BpfMap perf = PerfBufferTests.CreatePerfArray("t_soak_perf");
        using BpfMap state = EventProgram.CreateStateMap("t_soak_state");
        using BpfProgram prog = PerfBufferTests.LoadProducer(perf, state, recordSize);
        using PerfBuffer reader = PerfBuffer.Open(perf, new PerfBufferOptions { PagesPerCpu = pages, Timestamps = timestamps, WakeupEvents = wakeupEvents, WakeupWatermark = watermark });
        var checker = new Checker(PossibleCpus.Count);

        var sw = Stopwatch.StartNew();
        var producers = new CpuProducers(prog, Packet, cpus, perCpu, reader.Wake, ct);
        long consumed = 0;
        while (producers.Running)
        {
            consumed += reader.PollRecords(TimeSpan.FromMilliseconds(100), ref checker);
        }

        await producers.Completion;
        consumed += reader.ConsumeRecords(ref checker);

        // A loss is reported in front of the next sample the kernel can write: one more run per CPU, into rings now
        // empty, brings the last reports out.
        foreach (int cpu in Enumerable.Range(0, cpus))
        {
            prog.TestRunOnCpu(cpu, Packet);
        }

        consumed += reader.ConsumeRecords(ref checker);
        sw.Stop();

        EventProducerCounters[] counters = EventProgram.ReadCounters(state);
        long accepted = counters.Sum(c => (long)c.Accepted), dropped = counters.Sum(c => (long)c.Dropped);
        _out?.WriteLine($"{pages} pages, samples {recordSize} B, timestamps {timestamps}, wakeup every {(watermark > 0 ? $"{watermark} bytes" : $"{wakeupEvents} samples")}: {cpus} CPUs x {perCpu:N0} runs in {sw.Elapsed.TotalSeconds:F2} s; "
            + $"accepted {accepted:N0}, dropped {dropped:N0} (reported lost {reader.LostCount:N0}), records {consumed:N0} ({consumed / sw.Elapsed.TotalSeconds:N0}/s)");
        Assert.True(checker.Missing + checker.Duplicated + checker.Torn + checker.Foreign + checker.Misplaced == 0,
            $"missing {checker.Missing}, duplicated or reordered {checker.Duplicated}, torn {checker.Torn}, foreign {checker.Foreign}, misplaced {checker.Misplaced}:\n{string.Join("\n", checker.First)}");
        Assert.Equal(cpus * (perCpu + 1), accepted + dropped);
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            Assert.True((long)counters[cpu].Accepted == checker.Received[cpu], $"CPU {cpu}: the kernel accepted {counters[cpu].Accepted} samples, the reader got {checker.Received[cpu]}");
            Assert.True(counters[cpu].Dropped == checker.Lost[cpu], $"CPU {cpu}: the program saw {counters[cpu].Dropped} refused, the kernel reported {checker.Lost[cpu]} lost");
            Assert.Equal(checker.Lost[cpu], reader.GetLostCount(cpu));
        }

        Assert.Equal(0, reader.AvailableBytes);
        if (pages == 1)
        {
            Assert.True(dropped > 0, "a one-page ring under producers on every CPU dropped nothing");
        }
    }
}
