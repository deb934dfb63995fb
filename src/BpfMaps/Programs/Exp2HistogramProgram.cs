using System.Buffers.Binary;
using System.Numerics;
using BpfMaps.Asm;

namespace BpfMaps.Programs;

/// <summary>
/// A ready-made program that records a value per run into an exp2 histogram map, in ebpf_exporter's layout:
/// the key is a u32 bucket index, the value a u64 count; a value v goes to bucket ceil(log2 v) (0 and 1 to
/// bucket 0), so bucket i counts the values in (2^(i-1), 2^i]; values above <see cref="Exp2HistogramProgramOptions.MaxBucket"/>
/// are counted in it; and key MaxBucket + 1 sums the values. By default the value is the run's own duration in
/// nanoseconds, so test runs (BPF_PROG_TEST_RUN) fill a latency histogram.
/// </summary>
/// <remarks>
/// Shared maps (hash, LRU hash, array) get atomic adds; per-CPU maps a plain add into the current CPU's slot (see
/// <see cref="CounterProgram"/> for when that is safe). The exporter publishes such a map with
/// <c>"histogram": { "bucketType": "exp2", "bucketMax": 26, "overflow": "max", "sum": { "key": 27 }, "multiplier": 1e-9 }</c>.
/// </remarks>
public static class Exp2HistogramProgram
{
    private const short KeySlot = -4, ValueSlot = -16;
    private const int InsertAttempts = 2;

    /// <summary>The bucket the program puts <paramref name="value"/> in: ceil(log2 value), 0 for 0 and 1, at most <paramref name="maxBucket"/>.</summary>
    /// <param name="value">The value.</param>
    /// <param name="maxBucket">The highest bucket.</param>
    /// <returns>The bucket index.</returns>
    public static uint BucketOf(ulong value, int maxBucket = 26)
    {
        uint bucket = value <= 1 ? 0 : 64 - (uint)BitOperations.LeadingZeroCount(value - 1);
        return Math.Min(bucket, (uint)maxBucket);
    }

    /// <summary>A 64-byte packet whose first 8 bytes are <paramref name="value"/> (little-endian), for <see cref="Exp2HistogramValue.PacketValue"/>.</summary>
    /// <param name="value">The value a run records.</param>
    /// <returns>The packet.</returns>
    public static byte[] CreatePacket(ulong value)
    {
        byte[] packet = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(packet, value);
        return packet;
    }

    /// <summary>Assembles the program over <paramref name="histogram"/>.</summary>
    /// <param name="histogram">The histogram map: 4-byte keys, 8-byte values; hash, LRU hash, array or their per-CPU kinds (an array needs MaxBucket + 2 entries with the sum key).</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The program, referencing the map.</returns>
    /// <exception cref="ArgumentException">The map or the options do not fit.</exception>
    public static AssembledProgram Assemble(BpfMap histogram, Exp2HistogramProgramOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        Exp2HistogramProgramOptions o = options ?? Exp2HistogramProgramOptions.Default;
        if (histogram.KeySize != 4 || histogram.ValueSize != 8)
        {
            throw new ArgumentException($"an exp2 histogram map has 4-byte keys and 8-byte values; this {histogram.Type} map has {histogram.KeySize}-byte keys and {histogram.ValueSize}-byte values", nameof(histogram));
        }

        if (histogram.Type is not (MapType.Hash or MapType.LruHash or MapType.Array or MapType.PerCpuHash or MapType.LruPerCpuHash or MapType.PerCpuArray))
        {
            throw new ArgumentException($"the histogram map must be a hash, LRU hash or array (or per-CPU), not {histogram.Type}", nameof(histogram));
        }

        if (o.MaxBucket is < 0 or > 63)
        {
            throw new ArgumentException($"max bucket {o.MaxBucket} must be between 0 and 63", nameof(options));
        }

        int keys = o.MaxBucket + (o.RecordSum ? 2 : 1);
        if (histogram.Type.IsArray() && histogram.MaxEntries < keys)
        {
            throw new ArgumentException($"the array has {histogram.MaxEntries} entries; buckets 0 to {o.MaxBucket}{(o.RecordSum ? " and the sum key" : "")} need {keys}", nameof(histogram));
        }

        if (o.ProgramType is not (ProgramType.Xdp or ProgramType.SchedCls or ProgramType.SocketFilter))
        {
            throw new ArgumentException($"the histogram program is built for Xdp, SchedCls or SocketFilter, not {o.ProgramType}", nameof(options));
        }

        if (o.Value == Exp2HistogramValue.PacketValue && o.ProgramType == ProgramType.SocketFilter)
        {
            throw new ArgumentException("socket filters cannot read packet bytes directly; use Xdp or SchedCls for packet values", nameof(options));
        }

        // R6 the context, R7 the start time, R8 the value, R9 the bucket: helper calls keep R6 to R9.
        var b = new InstructionBuilder();
        Label done = b.DefineLabel();
        b.Mov64(Register.R6, Register.R1);
        if (o.Value == Exp2HistogramValue.RunDuration)
        {
            b.Call(HelperFunction.KtimeGetNs).Mov64(Register.R7, Register.R0)
                .Call(HelperFunction.KtimeGetNs).Mov64(Register.R8, Register.R0)
                .Alu64(AluOp.Sub, Register.R8, Register.R7);
        }
        else
        {
            // Direct packet access: data and data_end (xdp_md: 0 and 4; __sk_buff: 76 and 80), bounds checked before the read.
            short data = o.ProgramType == ProgramType.Xdp ? (short)0 : (short)76;
            short dataEnd = o.ProgramType == ProgramType.Xdp ? (short)4 : (short)80;
            b.Load(MemorySize.Word, Register.R2, Register.R6, data)
                .Load(MemorySize.Word, Register.R3, Register.R6, dataEnd)
                .Mov64(Register.R4, Register.R2)
                .Alu64(AluOp.Add, Register.R4, 8)
                .JumpIf(JumpOp.Greater, Register.R4, Register.R3, done)
                .Load(MemorySize.DoubleWord, Register.R8, Register.R2, 0);
        }

        EmitBucket(b, o.MaxBucket);
        b.Store(MemorySize.Word, Register.R10, KeySlot, Register.R9)
            .StoreImmediate(MemorySize.DoubleWord, Register.R10, ValueSlot, 1);
        Label counted = b.DefineLabel();
        MapIncrement.Emit(b, x => x.LoadMap(Register.R1, histogram), KeySlot, ValueSlot, histogram.IsPerCpu, InsertAttempts, increment: null, 1, counted);
        b.Mark(counted);
        if (o.RecordSum)
        {
            b.StoreImmediate(MemorySize.Word, Register.R10, KeySlot, o.MaxBucket + 1)
                .Store(MemorySize.DoubleWord, Register.R10, ValueSlot, Register.R8);
            MapIncrement.Emit(b, x => x.LoadMap(Register.R1, histogram), KeySlot, ValueSlot, histogram.IsPerCpu, InsertAttempts, Register.R8, 0, done);
        }

        b.Mark(done).Mov64(Register.R0, unchecked((int)o.ReturnValue)).Exit();
        return b.Build();
    }

    /// <summary>R9 = the bucket of R8: 0 for 0 and 1, else floor(log2(R8 - 1)) + 1 by halving the range, then clamped.</summary>
    private static void EmitBucket(InstructionBuilder b, int maxBucket)
    {
        Label clamp = b.DefineLabel();
        b.Mov64(Register.R9, 0)
            .JumpIf(JumpOp.LessOrEqual, Register.R8, 1, clamp)
            .Mov64(Register.R1, Register.R8)
            .Alu64(AluOp.Sub, Register.R1, 1)
            .Mov64(Register.R9, 1);
        foreach (int shift in (ReadOnlySpan<int>)[32, 16, 8, 4, 2, 1])
        {
            Label skip = b.DefineLabel();
            b.Mov64(Register.R2, Register.R1)
                .Alu64(AluOp.Rsh, Register.R2, shift)
                .JumpIf(JumpOp.Equal, Register.R2, 0, skip)
                .Mov64(Register.R1, Register.R2)
                .Alu64(AluOp.Add, Register.R9, shift)
                .Mark(skip);
        }

        Label inRange = b.DefineLabel();
        b.Mark(clamp)
            .JumpIf(JumpOp.LessOrEqual, Register.R9, maxBucket, inRange)
            .Mov64(Register.R9, maxBucket)
            .Mark(inRange);
    }

    /// <summary>Assembles and loads the program over <paramref name="histogram"/> (BPF_PROG_LOAD).</summary>
    /// <param name="histogram">The histogram map: 4-byte keys, 8-byte values.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>The loaded program; run it with <see cref="BpfProgram.TestRun(ReadOnlySpan{byte}, int)"/>.</returns>
    /// <exception cref="ArgumentException">The map or the options do not fit.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused it (carries the log).</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public static BpfProgram Load(BpfMap histogram, Exp2HistogramProgramOptions? options = null)
    {
        options ??= Exp2HistogramProgramOptions.Default;
        return BpfProgram.Load(options.ProgramType, Assemble(histogram, options), "GPL", new ProgramLoadOptions { Name = options.Name });
    }
}
