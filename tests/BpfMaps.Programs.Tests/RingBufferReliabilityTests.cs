using System.Diagnostics;
using BpfMaps.Events;

namespace BpfMaps.Programs.Tests;

/// <summary>
/// Producers at full speed on every CPU (the event program test-run by one thread pinned to each CPU) against one
/// consumer: every record the kernel accepted arrives exactly once, in order per CPU, whole; a record that did not
/// fit is counted as dropped by the program, never half-written. Records per CPU: 1,000,000 times
/// BPFMAPS_SOAK_ITER (default 1).
/// </summary>
public class RingBufferReliabilityTests : KernelTest
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();
    private readonly ITestOutputHelper? _out = TestContext.Current.TestOutputHelper;

    private static int SoakFactor => BpfMaps.Tests.Common.Soak.Iterations();

    /// <summary>Checks each record against the next sequence number expected from its CPU.</summary>
    private sealed class Checker(int cpus, int discardEvery) : IRecordHandler
    {
        public readonly ulong[] Next = new ulong[cpus];
        public readonly long[] Received = new long[cpus];
        public long Lost, Duplicated, Torn, Foreign;
        public readonly List<string> First = [];

        public void OnRecord(ReadOnlySpan<byte> record)
        {
            if (!SequencedEvent.TryRead(record, out SequencedEvent e))
            {
                Torn++;
                Note($"torn record of {record.Length} bytes: {Convert.ToHexString(record[..Math.Min(record.Length, 32)])}");
                return;
            }

            if (e.Cpu >= (uint)Next.Length)
            {
                Foreign++;
                Note($"record from CPU {e.Cpu}");
                return;
            }

            ulong expected = Skip(Next[e.Cpu]);
            if (e.Sequence > expected)
            {
                Lost += (long)(e.Sequence - expected);
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

        /// <summary>The next sequence number that is not discarded.</summary>
        public ulong Skip(ulong s) => discardEvery > 0 && s % (ulong)discardEvery == (ulong)discardEvery - 1 ? s + 1 : s;

        private void Note(string what)
        {
            if (First.Count < 10)
            {
                First.Add(what);
            }
        }
    }

    [Theory]
    [InlineData(EventOutput.RingbufReserve, 1 << 20, 0, 32)]
    [InlineData(EventOutput.RingbufReserve, 1 << 16, 5, 64)]
    [InlineData(EventOutput.RingbufOutput, 1 << 18, 0, 24)]
    [InlineData(EventOutput.RingbufReserve, 4096, 3, 40)]
    public async Task Every_accepted_record_arrives_once_in_order_and_whole(EventOutput output, int ringSize, int discardEvery, int recordSize)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int cpus = Environment.ProcessorCount;
        long perCpu = 1_000_000L * SoakFactor;
        if (ringSize <= 4096)
        {
            // The tiny ring drops most records; fewer runs prove the same.
            perCpu /= 10;
        }

        using BpfMap ring = RingBufferTests.CreateRing(ringSize, "t_soak_ring");
        using BpfMap state = EventProgram.CreateStateMap("t_soak_state");
        using BpfProgram prog = EventProgram.Load(ring, state, new EventProgramOptions { Output = output, DiscardEvery = discardEvery, RecordSize = recordSize });
        using RingBuffer reader = RingBuffer.Open(ring);
        var checker = new Checker(PossibleCpus.Count, discardEvery);

        var sw = Stopwatch.StartNew();
        var producers = new CpuProducers(prog, Packet, cpus, perCpu, reader.Wake, ct);
        long consumed = 0;
        while (producers.Running)
        {
            consumed += reader.Poll(TimeSpan.FromMilliseconds(100), ref checker);
        }

        await producers.Completion;
        consumed += reader.Consume(ref checker);
        sw.Stop();

        EventProducerCounters[] counters = EventProgram.ReadCounters(state);
        long accepted = counters.Sum(c => (long)c.Accepted), dropped = counters.Sum(c => (long)c.Dropped);
        _out?.WriteLine($"{output}, ring {ringSize} B, records {recordSize} B, discard every {discardEvery}: {cpus} CPUs x {perCpu:N0} runs in {sw.Elapsed.TotalSeconds:F2} s; "
            + $"accepted {accepted:N0}, dropped (ring full) {dropped:N0}, consumed {consumed:N0} ({consumed / sw.Elapsed.TotalSeconds:N0}/s)");
        Assert.True(checker.Lost + checker.Duplicated + checker.Torn + checker.Foreign == 0,
            $"lost {checker.Lost}, duplicated or reordered {checker.Duplicated}, torn {checker.Torn}, foreign {checker.Foreign}:\n{string.Join("\n", checker.First)}");
        Assert.Equal(cpus * perCpu, accepted + dropped);
        for (int cpu = 0; cpu < counters.Length; cpu++)
        {
            ulong a = counters[cpu].Accepted;
            long discarded = discardEvery > 0 ? (long)(a / (ulong)discardEvery) : 0;
            Assert.True((long)a - discarded == checker.Received[cpu], $"CPU {cpu}: the kernel accepted {a} records ({discarded} discarded), the consumer got {checker.Received[cpu]}");
            Assert.True(checker.Skip(checker.Next[cpu]) >= a, $"CPU {cpu}: the last sequence seen was {checker.Next[cpu] - 1}, of {a} accepted");
        }

        Assert.Equal(0, reader.AvailableBytes);
        if (ringSize <= 4096)
        {
            Assert.True(dropped > 0, "a 4 KiB ring under producers on every CPU dropped nothing");
        }
    }
}
