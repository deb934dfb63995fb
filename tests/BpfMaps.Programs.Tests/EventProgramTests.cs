using BpfMaps.Asm;
using BpfMaps.Events;

namespace BpfMaps.Programs.Tests;

/// <summary>The ready-made event program: its options, and the perf_event_output form the perf buffer reader will consume.</summary>
public class EventProgramTests : KernelTest
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();

    [Fact]
    public void The_perf_event_output_program_loads_and_counts_records_with_no_perf_event_as_dropped()
    {
        // With no perf event in the CPU's slot, bpf_perf_event_output returns -ENOENT: every run is a drop and
        // the sequence does not move. The reader of PERF_EVENT_ARRAY maps sets the perf events up.
        using BpfMap perf = BpfMap.Create(new MapSpec { Type = MapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = PossibleCpus.Count, Name = "t_perf" });
        using BpfMap state = EventProgram.CreateStateMap();
        foreach (ProgramType type in new[] { ProgramType.SchedCls, ProgramType.Xdp })
        {
            using BpfProgram prog = EventProgram.Load(perf, state, new EventProgramOptions { Output = EventOutput.PerfEventOutput, ProgramType = type, RecordSize = 32 });
            prog.TestRunOnCpu(0, Packet, 10);
        }

        Assert.Equal(new EventProducerCounters(0, 20), EventProgram.ReadCounters(state)[0]);
    }

    [Fact]
    public void Options_that_do_not_fit_are_refused_before_the_verifier_sees_them()
    {
        using BpfMap ring = RingBufferTests.CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfMap hash = CreateCounters();
        Assert.Contains("perf_event_array", Assert.Throws<ArgumentException>(() => EventProgram.Assemble(ring, state, new EventProgramOptions { Output = EventOutput.PerfEventOutput })).Message, StringComparison.Ordinal);
        Assert.Contains("ringbuf", Assert.Throws<ArgumentException>(() => EventProgram.Assemble(hash, state)).Message, StringComparison.Ordinal);
        Assert.Contains("multiple of 8", Assert.Throws<ArgumentException>(() => EventProgram.Assemble(ring, state, new EventProgramOptions { RecordSize = 30 })).Message, StringComparison.Ordinal);
        Assert.Contains("discarded", Assert.Throws<ArgumentException>(() => EventProgram.Assemble(ring, state, new EventProgramOptions { Output = EventOutput.RingbufOutput, DiscardEvery = 2 })).Message, StringComparison.Ordinal);
        Assert.Contains("state map", Assert.Throws<ArgumentException>(() => EventProgram.Assemble(ring, hash)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_wakeup_flag_and_the_largest_record_load_and_run()
    {
        using BpfMap ring = RingBufferTests.CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using RingBuffer reader = RingBuffer.Open(ring);
        int expected = 0;
        foreach (RingBufferWakeup wakeup in Enum.GetValues<RingBufferWakeup>())
        {
            foreach (EventOutput output in new[] { EventOutput.RingbufReserve, EventOutput.RingbufOutput })
            {
                using BpfProgram prog = EventProgram.Load(ring, state, new EventProgramOptions { Output = output, Wakeup = wakeup, RecordSize = 256, ProgramType = ProgramType.SocketFilter });
                prog.TestRun(Packet, 2);
                expected += 2;
            }
        }

        int whole = 0;
        Assert.Equal(expected, reader.Consume(r => whole += SequencedEvent.TryRead(r, out _) && r.Length == 256 ? 1 : 0));
        Assert.Equal(expected, whole);
    }
}
