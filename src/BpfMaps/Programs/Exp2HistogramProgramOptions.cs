namespace BpfMaps.Programs;

/// <summary>Options of <see cref="Exp2HistogramProgram"/>.</summary>
public sealed record Exp2HistogramProgramOptions
{
    /// <summary>XDP's pass verdict, the default return value.</summary>
    public const uint XdpPass = 2;

    /// <summary>The defaults: run durations, buckets up to 26, a sum key, XDP.</summary>
    public static Exp2HistogramProgramOptions Default { get; } = new();

    /// <summary>What each run records. Default <see cref="Exp2HistogramValue.RunDuration"/>.</summary>
    public Exp2HistogramValue Value { get; init; } = Exp2HistogramValue.RunDuration;

    /// <summary>
    /// The highest bucket: larger values are counted in it (the exporter's <c>"overflow": "max"</c>). 0 to 63;
    /// default 26 (up to 2^26 ns, about 67 ms, for durations).
    /// </summary>
    public int MaxBucket { get; init; } = 26;

    /// <summary>Also add each value to key <see cref="MaxBucket"/> + 1, the sum key of ebpf_exporter's layout. Default true.</summary>
    public bool RecordSum { get; init; } = true;

    /// <summary><see cref="ProgramType.Xdp"/> (default) or <see cref="ProgramType.SchedCls"/>; <see cref="ProgramType.SocketFilter"/> only for run durations.</summary>
    public ProgramType ProgramType { get; init; } = ProgramType.Xdp;

    /// <summary>What every run returns. Default <see cref="XdpPass"/>.</summary>
    public uint ReturnValue { get; init; } = XdpPass;

    /// <summary>The program name. Default <c>exp2_hist</c>.</summary>
    public string? Name { get; init; } = "exp2_hist";
}

/// <summary>What <see cref="Exp2HistogramProgram"/> records on each run.</summary>
public enum Exp2HistogramValue
{
    /// <summary>How long the run took, in nanoseconds (bpf_ktime_get_ns at its start and before it records).</summary>
    RunDuration,

    /// <summary>The first 8 bytes of the packet, a little-endian u64 (<see cref="Exp2HistogramProgram.CreatePacket"/>): chosen values, for tests.</summary>
    PacketValue,
}
