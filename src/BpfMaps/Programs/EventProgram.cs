using System.Runtime.InteropServices;
using BpfMaps.Asm;

namespace BpfMaps.Programs;

/// <summary>
/// A ready-made program that writes one <see cref="SequencedEvent"/> per run into a ring buffer (reserve and
/// submit, some discarded, or bpf_ringbuf_output) or a perf event array (bpf_perf_event_output), for testing and
/// measuring consumers: per CPU, the sequence numbers a consumer sees must be 0, 1, 2, ... minus the discarded
/// ones, in order, each once. A per-CPU state map counts the records accepted (the next sequence number) and
/// the runs whose record was dropped because the ring was full.
/// </summary>
/// <remarks>
/// The counters are per-CPU values updated with a plain load and store: runs on one CPU must not interleave,
/// which holds for test runs of one thread per CPU (<see cref="BpfProgram.TestRunOnCpu"/>).
/// </remarks>
public static class EventProgram
{
    private const short KeySlot = -4;
    private const int MaxRecordSize = 256;

    /// <summary>Creates the state map: a per-CPU array of one 16-byte value (accepted, dropped) per CPU.</summary>
    /// <param name="name">The map name.</param>
    /// <returns>The map.</returns>
    /// <exception cref="BpfException">BPF_MAP_CREATE failed.</exception>
    public static BpfMap CreateStateMap(string? name = "event_state")
        => BpfMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 16, MaxEntries = 1, Name = name });

    /// <summary>Reads each CPU's counters from the state map (BPF_MAP_LOOKUP_ELEM).</summary>
    /// <param name="state">The state map.</param>
    /// <returns>One entry per possible CPU.</returns>
    /// <exception cref="ArgumentException">Not a state map.</exception>
    public static EventProducerCounters[] ReadCounters(BpfMap state)
    {
        CheckState(state);
        byte[] value = new byte[state.ValueBufferSize];
        state.TryLookup(stackalloc byte[4], value);
        var result = new EventProducerCounters[state.Cpus];
        for (int cpu = 0; cpu < result.Length; cpu++)
        {
            ReadOnlySpan<byte> v = value.AsSpan(cpu * state.ValueStride, 16);
            result[cpu] = new EventProducerCounters(MemoryMarshal.Read<ulong>(v), MemoryMarshal.Read<ulong>(v[8..]));
        }

        return result;
    }

    /// <summary>Assembles the event program.</summary>
    /// <param name="events">A ring buffer (<see cref="EventOutput.RingbufReserve"/>, <see cref="EventOutput.RingbufOutput"/>) or perf event array.</param>
    /// <param name="state">From <see cref="CreateStateMap"/>.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The program, referencing both maps.</returns>
    /// <exception cref="ArgumentException">A map of the wrong kind, or options that do not fit.</exception>
    public static AssembledProgram Assemble(BpfMap events, BpfMap state, EventProgramOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(events);
        CheckState(state);
        EventProgramOptions o = options ?? EventProgramOptions.Default;
        Validate(events, o);

        int size = o.RecordSize;
        var b = new InstructionBuilder();
        Label exit = b.DefineLabel(), dropped = b.DefineLabel();

        // R6 = ctx (perf output needs it), R7 = this CPU's counters, R8 = the record, R9 = its sequence number.
        b.Mov64(Register.R6, Register.R1)
            .StoreImmediate(MemorySize.Word, Register.R10, KeySlot, 0)
            .LoadMap(Register.R1, state)
            .Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, KeySlot)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(JumpOp.Equal, Register.R0, 0, exit)
            .Mov64(Register.R7, Register.R0);

        if (o.Output == EventOutput.RingbufReserve)
        {
            b.LoadMap(Register.R1, events)
                .Mov64(Register.R2, size)
                .Mov64(Register.R3, 0)
                .Call(HelperFunction.RingbufReserve)
                .JumpIf(JumpOp.Equal, Register.R0, 0, dropped)
                .Mov64(Register.R8, Register.R0)
                .Load(MemorySize.DoubleWord, Register.R9, Register.R7, 0)
                .Mov64(Register.R1, Register.R9).Alu64(AluOp.Add, Register.R1, 1)
                .Store(MemorySize.DoubleWord, Register.R7, 0, Register.R1);
            EmitRecord(b, Register.R8, 0, size);
            if (o.DiscardEvery > 0)
            {
                Label submit = b.DefineLabel();
                b.Mov64(Register.R1, Register.R9).Alu64(AluOp.Mod, Register.R1, o.DiscardEvery)
                    .JumpIf(JumpOp.NotEqual, Register.R1, o.DiscardEvery - 1, submit)
                    .Mov64(Register.R1, Register.R8).Mov64(Register.R2, (int)o.Wakeup)
                    .Call(HelperFunction.RingbufDiscard)
                    .Jump(exit)
                    .Mark(submit);
            }

            b.Mov64(Register.R1, Register.R8).Mov64(Register.R2, (int)o.Wakeup)
                .Call(HelperFunction.RingbufSubmit)
                .Jump(exit);
        }
        else
        {
            // Built on the stack below the key, then copied out by the helper.
            short at = (short)-(8 + size);
            b.Load(MemorySize.DoubleWord, Register.R9, Register.R7, 0);
            EmitRecord(b, Register.R10, at, size);
            if (o.Output == EventOutput.RingbufOutput)
            {
                b.LoadMap(Register.R1, events)
                    .Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, at)
                    .Mov64(Register.R3, size)
                    .Mov64(Register.R4, (int)o.Wakeup)
                    .Call(HelperFunction.RingbufOutput);
            }
            else
            {
                // BPF_F_CURRENT_CPU is 0xffffffff with the upper half (the XDP/skb payload length to append) zero.
                b.Mov64(Register.R1, Register.R6)
                    .LoadMap(Register.R2, events)
                    .Mov32(Register.R3, -1)
                    .Mov64(Register.R4, Register.R10).Alu64(AluOp.Add, Register.R4, at)
                    .Mov64(Register.R5, size)
                    .Call(HelperFunction.PerfEventOutput);
            }

            b.JumpIf(JumpOp.NotEqual, Register.R0, 0, dropped)
                .Mov64(Register.R1, Register.R9).Alu64(AluOp.Add, Register.R1, 1)
                .Store(MemorySize.DoubleWord, Register.R7, 0, Register.R1)
                .Jump(exit);
        }

        b.Mark(dropped)
            .Load(MemorySize.DoubleWord, Register.R1, Register.R7, 8)
            .Alu64(AluOp.Add, Register.R1, 1)
            .Store(MemorySize.DoubleWord, Register.R7, 8, Register.R1)
            .Mark(exit)
            .Mov64(Register.R0, unchecked((int)o.ReturnValue))
            .Exit();
        return b.Build();
    }

    /// <summary>Assembles and loads the event program (BPF_PROG_LOAD).</summary>
    /// <param name="events">A ring buffer or perf event array.</param>
    /// <param name="state">From <see cref="CreateStateMap"/>.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The loaded program.</returns>
    /// <exception cref="ArgumentException">A map of the wrong kind, or options that do not fit.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused it (carries the log).</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public static BpfProgram Load(BpfMap events, BpfMap state, EventProgramOptions? options = null)
    {
        EventProgramOptions o = options ?? EventProgramOptions.Default;
        return BpfProgram.Load(o.ProgramType, Assemble(events, state, o), "GPL", new ProgramLoadOptions { Name = o.Name });
    }

    // cpu, size, sequence, ~sequence, then the sequence again in every further word.
    private static void EmitRecord(InstructionBuilder b, Register at, short offset, int size)
    {
        b.Call(HelperFunction.GetSmpProcessorId)
            .Store(MemorySize.Word, at, offset, Register.R0)
            .StoreImmediate(MemorySize.Word, at, (short)(offset + 4), size)
            .Store(MemorySize.DoubleWord, at, (short)(offset + 8), Register.R9)
            .Mov64(Register.R1, Register.R9).Alu64(AluOp.Xor, Register.R1, -1)
            .Store(MemorySize.DoubleWord, at, (short)(offset + 16), Register.R1);
        for (int word = SequencedEvent.Size; word < size; word += 8)
        {
            b.Store(MemorySize.DoubleWord, at, (short)(offset + word), Register.R9);
        }
    }

    private static void Validate(BpfMap events, EventProgramOptions o)
    {
        bool perf = o.Output == EventOutput.PerfEventOutput;
        if (perf ? events.Type != MapType.PerfEventArray : events.Type != MapType.RingBuf)
        {
            throw new ArgumentException($"{o.Output} writes to a {(perf ? "perf_event_array" : "ringbuf")} map, not {events.Type.KernelName()}", nameof(events));
        }

        if (o.RecordSize is < SequencedEvent.Size or > MaxRecordSize || o.RecordSize % 8 != 0)
        {
            throw new ArgumentException($"record size {o.RecordSize} must be a multiple of 8 from {SequencedEvent.Size} to {MaxRecordSize}", nameof(o));
        }

        if (o.DiscardEvery < 0 || (o.DiscardEvery > 0 && o.Output != EventOutput.RingbufReserve))
        {
            throw new ArgumentException($"DiscardEvery {o.DiscardEvery}: only reserved records can be discarded, and it cannot be negative", nameof(o));
        }

        if (!Enum.IsDefined(o.Wakeup) || (perf && o.Wakeup != RingBufferWakeup.Default))
        {
            throw new ArgumentException($"wake-up {o.Wakeup}: Default, None or Force, and only for ring buffers", nameof(o));
        }

        if (o.ProgramType is not (ProgramType.SchedCls or ProgramType.Xdp or ProgramType.SocketFilter) || (perf && o.ProgramType == ProgramType.SocketFilter))
        {
            throw new ArgumentException($"the event program is built for SchedCls, Xdp or (ring buffers only) SocketFilter, not {o.ProgramType}", nameof(o));
        }
    }

    private static void CheckState(BpfMap state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Type != MapType.PerCpuArray || state.KeySize != 4 || state.ValueSize != 16 || state.MaxEntries < 1)
        {
            throw new ArgumentException($"the state map is a per-CPU array of 16-byte values (EventProgram.CreateStateMap), not {state}", nameof(state));
        }
    }
}
