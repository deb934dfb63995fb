namespace BpfMaps.Cli.EventPipe;

/// <summary>
/// One record as <c>event_pipe</c> prints it: a perf sample (its CPU, slot and kernel timestamp) or a ring buffer
/// record (no CPU or slot: <see cref="Cpu"/> is -1, and the timestamp is when it was read, CLOCK_MONOTONIC).
/// </summary>
/// <param name="cpu">The perf ring's CPU, or -1.</param>
/// <param name="index">The perf ring's slot, or -1.</param>
/// <param name="timestamp">Nanoseconds.</param>
/// <param name="data">The bytes, valid for the call only.</param>
internal readonly ref struct EventRecord(int cpu, int index, ulong timestamp, ReadOnlySpan<byte> data)
{
    /// <summary>The perf ring's CPU, or -1 for a ring buffer record.</summary>
    public int Cpu { get; } = cpu;

    /// <summary>The perf ring's slot, or -1.</summary>
    public int Index { get; } = index;

    /// <summary>Nanoseconds: the kernel's perf clock for a sample, CLOCK_MONOTONIC at reading for a ring buffer record.</summary>
    public ulong Timestamp { get; } = timestamp;

    /// <summary>The record's bytes (a perf sample's raw data, padding included, as bpftool prints it).</summary>
    public ReadOnlySpan<byte> Data { get; } = data;

    /// <summary>Whether this is a perf sample (it has a CPU).</summary>
    public bool IsPerf => Cpu >= 0;
}
