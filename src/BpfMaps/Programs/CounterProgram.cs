using BpfMaps.Asm;

namespace BpfMaps.Programs;

/// <summary>
/// A ready-made program that increments a u64 counter per u32 key, for measuring drains under live
/// writers. Each run picks a key (<see cref="CounterKeySource"/>), looks it up, adds the increment if
/// found, else inserts it with BPF_NOEXIST; when the insert loses a race (EEXIST) it looks up again.
/// </summary>
/// <remarks>
/// <para>
/// Shared maps (hash, LRU hash, array) get an atomic add (BPF_STX | BPF_ATOMIC | BPF_DW, BPF_ADD),
/// since several CPUs may hold the same value. Per-CPU maps get a plain load, add and store: the
/// lookup returns the current CPU's own slot and the program cannot migrate while it runs. It also
/// cannot be interleaved with another run on the same CPU where programs run with preemption
/// disabled, as BPF_PROG_TEST_RUN and the networking hooks do; on PREEMPT_RT kernels or for sleepable
/// programs two runs can interleave on one CPU and a plain add can lose an update.
/// </para>
/// <para>
/// Through an outer map (<see cref="LoadThroughOuter"/>), the program first looks up slot 0 of an
/// ARRAY_OF_MAPS to get the current inner map and then works on that, once per run. This is what makes
/// a <see cref="SwapDrainMap"/> drain exact: a run that fetched the old inner map finishes before the
/// slot update returns.
/// </para>
/// </remarks>
public static class CounterProgram
{
    private const short KeySlot = -4, OuterKeySlot = -8, ValueSlot = -16;

    /// <summary>A 64-byte packet whose first four bytes are <paramref name="key"/> (little-endian), for test runs.</summary>
    /// <param name="key">The key for <see cref="CounterKeySource.PacketData"/>.</param>
    /// <returns>The packet.</returns>
    public static byte[] CreatePacket(uint key = 0)
    {
        byte[] packet = new byte[64];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(packet, key);
        return packet;
    }

    /// <summary>Assembles the counter program over <paramref name="counters"/> directly.</summary>
    /// <param name="counters">Counter map: key 4 bytes, value 8 bytes (hash, LRU hash, array, or their per-CPU kinds).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The program, referencing the map.</returns>
    /// <exception cref="ArgumentException">Sizes or options that do not fit.</exception>
    public static AssembledProgram Assemble(BpfMap counters, CounterProgramOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(counters);
        CheckCounterShape(counters.Type, counters.KeySize, counters.ValueSize, nameof(counters));
        return AssembleCore(counters, outer: null, counters.IsPerCpu, options ?? CounterProgramOptions.Default);
    }

    /// <summary>Assembles the counter program that reaches its counter map through slot 0 of <paramref name="outer"/>.</summary>
    /// <param name="outer">An ARRAY_OF_MAPS (or HASH_OF_MAPS) with u32 keys.</param>
    /// <param name="innerType">The inner maps' type (decides atomic or per-CPU add).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The program, referencing the outer map.</returns>
    /// <exception cref="ArgumentException">The outer map is not a map-in-map with u32 keys, or bad options.</exception>
    public static AssembledProgram AssembleThroughOuter(BpfMap outer, MapType innerType, CounterProgramOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(outer);
        if (!outer.Type.IsMapInMap() || outer.KeySize != 4)
        {
            throw new ArgumentException($"the outer map must be a map-in-map with 4-byte keys, not {outer.Type} with {outer.KeySize}-byte keys", nameof(outer));
        }

        return AssembleCore(null, outer, innerType.IsPerCpu(), options ?? CounterProgramOptions.Default);
    }

    /// <summary>Assembles and loads the counter program over <paramref name="counters"/> (BPF_PROG_LOAD).</summary>
    /// <param name="counters">Counter map: key 4 bytes, value 8 bytes.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The loaded program.</returns>
    /// <exception cref="ArgumentException">Sizes or options that do not fit.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused it (carries the log).</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public static BpfProgram Load(BpfMap counters, CounterProgramOptions? options = null)
    {
        options ??= CounterProgramOptions.Default;
        return BpfProgram.Load(options.ProgramType, Assemble(counters, options), "GPL", new ProgramLoadOptions { Name = options.Name });
    }

    /// <summary>Assembles and loads the counter program that goes through the outer map of <paramref name="map"/>.</summary>
    /// <param name="map">The double-buffered counter map.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The loaded program.</returns>
    /// <exception cref="ArgumentException">Options that do not fit.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused it.</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public static BpfProgram Load(SwapDrainMap map, CounterProgramOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        CheckCounterShape(map.InnerType, map.Active.KeySize, map.Active.ValueSize, nameof(map));
        return LoadThroughOuter(map.Outer, map.InnerType, options);
    }

    /// <summary>Assembles and loads the counter program that goes through slot 0 of <paramref name="outer"/>.</summary>
    /// <param name="outer">An ARRAY_OF_MAPS with u32 keys whose inner maps have u32 keys and u64 values.</param>
    /// <param name="innerType">The inner maps' type.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The loaded program.</returns>
    /// <exception cref="ArgumentException">Not a map-in-map, or bad options.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused it (for example, inner maps of another shape).</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public static BpfProgram LoadThroughOuter(BpfMap outer, MapType innerType, CounterProgramOptions? options = null)
    {
        options ??= CounterProgramOptions.Default;
        return BpfProgram.Load(options.ProgramType, AssembleThroughOuter(outer, innerType, options), "GPL", new ProgramLoadOptions { Name = options.Name });
    }

    private static void CheckCounterShape(MapType type, int keySize, int valueSize, string param)
    {
        if (keySize != 4 || valueSize != 8)
        {
            throw new ArgumentException($"a counter map has 4-byte keys and 8-byte values; this {type} map has {keySize}-byte keys and {valueSize}-byte values", param);
        }
    }

    private static AssembledProgram AssembleCore(BpfMap? counters, BpfMap? outer, bool perCpu, CounterProgramOptions o)
    {
        if (o.Increment <= 0)
        {
            throw new ArgumentException($"increment {o.Increment} must be positive", nameof(o));
        }

        if (o.InsertAttempts is < 1 or > 16)
        {
            throw new ArgumentException($"insert attempts {o.InsertAttempts} must be between 1 and 16", nameof(o));
        }

        if (o.KeySource == CounterKeySource.Random && o.KeyCount <= 0)
        {
            throw new ArgumentException($"key count {o.KeyCount} must be positive", nameof(o));
        }

        if (o.ProgramType is not (ProgramType.Xdp or ProgramType.SchedCls or ProgramType.SocketFilter))
        {
            throw new ArgumentException($"the counter program is built for Xdp, SchedCls or SocketFilter, not {o.ProgramType}", nameof(o));
        }

        if (o.KeySource == CounterKeySource.PacketData && o.ProgramType == ProgramType.SocketFilter)
        {
            throw new ArgumentException("socket filters cannot read packet bytes directly; use Xdp or SchedCls for packet keys", nameof(o));
        }

        if (o.Tally is { } t && (t.Type is not (MapType.Array or MapType.PerCpuArray) || t.KeySize != 4 || t.ValueSize != 8))
        {
            throw new ArgumentException($"the tally must be an array or per-CPU array with 4-byte keys and 8-byte values, not {t.Type} ({t.KeySize}/{t.ValueSize})", nameof(o));
        }

        var b = new InstructionBuilder();
        Label fail = b.DefineLabel();
        Label done = b.DefineLabel();

        EmitKey(b, o, fail);
        b.StoreImmediate(MemorySize.DoubleWord, Register.R10, ValueSlot, o.Increment);

        if (o.Tally is { } tally)
        {
            Label skip = b.DefineLabel();
            b.StoreImmediate(MemorySize.Word, Register.R10, OuterKeySlot, 0)
                .LoadMap(Register.R1, tally)
                .Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, OuterKeySlot)
                .Call(HelperFunction.MapLookupElem)
                .JumpIf(JumpOp.Equal, Register.R0, 0, skip)
                .Mov64(Register.R1, o.Increment)
                .AtomicAdd(MemorySize.DoubleWord, Register.R0, 0, Register.R1)
                .Mark(skip);
        }

        if (outer is not null)
        {
            // Fetch the current inner map once per run; R6 keeps it across helper calls.
            b.StoreImmediate(MemorySize.Word, Register.R10, OuterKeySlot, 0)
                .LoadMap(Register.R1, outer)
                .Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, OuterKeySlot)
                .Call(HelperFunction.MapLookupElem)
                .JumpIf(JumpOp.Equal, Register.R0, 0, fail)
                .Mov64(Register.R6, Register.R0);
        }

        MapIncrement.Emit(b, x => LoadCounterMap(x, counters), KeySlot, ValueSlot, perCpu, o.InsertAttempts, increment: null, o.Increment, done);

        b.Mark(fail).Mov64(Register.R0, unchecked((int)o.FailureReturnValue)).Exit();
        b.Mark(done).Mov64(Register.R0, unchecked((int)o.ReturnValue)).Exit();
        return b.Build();
    }

    private static void LoadCounterMap(InstructionBuilder b, BpfMap? counters)
    {
        if (counters is null)
        {
            b.Mov64(Register.R1, Register.R6);
        }
        else
        {
            b.LoadMap(Register.R1, counters);
        }
    }

    private static void EmitKey(InstructionBuilder b, CounterProgramOptions o, Label fail)
    {
        if (o.KeySource == CounterKeySource.Random)
        {
            b.Call(HelperFunction.GetPrandomU32)
                .Alu32(AluOp.Mod, Register.R0, o.KeyCount)
                .Store(MemorySize.Word, Register.R10, KeySlot, Register.R0);
            return;
        }

        // Direct packet access: data and data_end are u32 fields of the context (xdp_md: 0 and 4;
        // __sk_buff: 76 and 80); the verifier wants the bounds check before the read.
        short data = o.ProgramType == ProgramType.Xdp ? (short)0 : (short)76;
        short dataEnd = o.ProgramType == ProgramType.Xdp ? (short)4 : (short)80;
        b.Load(MemorySize.Word, Register.R2, Register.R1, data)
            .Load(MemorySize.Word, Register.R3, Register.R1, dataEnd)
            .Mov64(Register.R4, Register.R2)
            .Alu64(AluOp.Add, Register.R4, 4)
            .JumpIf(JumpOp.Greater, Register.R4, Register.R3, fail)
            .Load(MemorySize.Word, Register.R0, Register.R2, 0)
            .Store(MemorySize.Word, Register.R10, KeySlot, Register.R0);
    }
}
