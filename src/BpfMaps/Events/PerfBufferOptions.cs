namespace BpfMaps.Events;

/// <summary>How a <see cref="PerfBuffer"/> opens its rings (the perf_event_attr and mmap size of each).</summary>
public sealed record PerfBufferOptions
{
    /// <summary>The defaults: 64 data pages per ring, a wake-up per sample, no timestamps, every online CPU at its own slot.</summary>
    public static PerfBufferOptions Default { get; } = new();

    /// <summary>Data pages in each CPU's ring, a power of two (64 by default: 256 KiB with 4 KiB pages; bpftool uses 16).</summary>
    public int PagesPerCpu { get; init; } = 64;

    /// <summary>
    /// Wake a waiting reader after this many samples on a ring (<c>wakeup_events</c>; 1 by default, as libbpf and bpftool).
    /// Larger values batch wake-ups: samples below the count wait for the next wake-up or the next poll. Ignored when
    /// <see cref="WakeupWatermark"/> is set.
    /// </summary>
    public int WakeupEvents { get; init; } = 1;

    /// <summary>
    /// Wake a waiting reader once a ring holds this many bytes (<c>watermark</c> with <c>wakeup_watermark</c>); 0, the
    /// default, wakes by <see cref="WakeupEvents"/> instead. At most the ring's size.
    /// </summary>
    public int WakeupWatermark { get; init; }

    /// <summary>Ask for PERF_SAMPLE_TIME: each sample carries the kernel's timestamp (<see cref="PerfSample.Timestamp"/>), 8 more bytes a record.</summary>
    public bool Timestamps { get; init; }

    /// <summary>
    /// Which rings to open and where to put them: a CPU and the perf event array slot for its event (bpftool's
    /// <c>cpu N index M</c>). Null, the default, opens one ring on every possible CPU that is online, at the slot of
    /// its own number, up to the map's <c>max_entries</c> (as libbpf's perf_buffer__new).
    /// </summary>
    public IReadOnlyList<PerfBufferSlot>? Slots { get; init; }
}

/// <summary>A ring of a <see cref="PerfBuffer"/>: the CPU its perf event samples on, and the perf event array slot that holds it.</summary>
/// <param name="Cpu">The CPU.</param>
/// <param name="Index">The slot (the map key).</param>
public readonly record struct PerfBufferSlot(int Cpu, int Index);
