namespace BpfMaps.Events;

/// <summary>
/// Receives what a <see cref="PerfBuffer"/> reads, record by record: samples (the bytes a BPF program passed to
/// bpf_perf_event_output, with the CPU and slot they came from) and the kernel's reports of samples it lost because
/// a ring was full or paused. As a struct (or a ref struct) passed by <c>ref</c>, the calls are direct.
/// </summary>
public interface IPerfRecordHandler
{
    /// <summary>One sample (PERF_RECORD_SAMPLE). If this throws, the sample still counts as read and the exception propagates.</summary>
    /// <param name="sample">The sample; its <see cref="PerfSample.Data"/> is valid for the call only.</param>
    void OnSample(in PerfSample sample);

    /// <summary>A PERF_RECORD_LOST: the kernel dropped <see cref="PerfLost.Count"/> samples on this ring since its last report.</summary>
    /// <param name="lost">Where and how many.</param>
    void OnLost(in PerfLost lost);
}

/// <summary>One sample of a perf buffer: a span into the ring (or, for a record that wrapped the ring's end, into a pooled copy).</summary>
public readonly ref struct PerfSample
{
    internal PerfSample(int cpu, int index, ulong timestamp, ReadOnlySpan<byte> data)
    {
        Cpu = cpu;
        Index = index;
        Timestamp = timestamp;
        Data = data;
    }

    /// <summary>PERF_RECORD_SAMPLE, the record type of a sample (what bpftool prints as <c>type</c>).</summary>
    public const uint RecordType = 9;

    /// <summary>The CPU whose ring the sample was in.</summary>
    public int Cpu { get; }

    /// <summary>The perf event array slot that ring is in (the CPU's own number unless slots were chosen).</summary>
    public int Index { get; }

    /// <summary>The kernel's timestamp (PERF_SAMPLE_TIME, the perf clock in nanoseconds) when <see cref="PerfBufferOptions.Timestamps"/> is set; else 0.</summary>
    public ulong Timestamp { get; }

    /// <summary>
    /// The raw data as the kernel stored it: the program's bytes followed by up to 7 bytes of padding (the kernel rounds
    /// the 4-byte size field plus the data up to 8 bytes and records that rounded size; it skips the padding without
    /// writing it, so those bytes hold whatever the ring held there). Valid for the call only.
    /// </summary>
    public ReadOnlySpan<byte> Data { get; }
}

/// <summary>A PERF_RECORD_LOST report: samples the kernel could not write into one ring.</summary>
/// <param name="Cpu">The ring's CPU.</param>
/// <param name="Index">The ring's perf event array slot.</param>
/// <param name="Count">Samples dropped since the ring's previous report.</param>
/// <param name="EventId">The id the kernel gave the ring's perf event (the record's <c>id</c>; bpftool prints it).</param>
public readonly record struct PerfLost(int Cpu, int Index, ulong Count, ulong EventId = 0)
{
    /// <summary>PERF_RECORD_LOST, the record type of a lost report (what bpftool prints as <c>type</c>).</summary>
    public const uint RecordType = 2;
}

/// <summary>Hands each sample's data to an <see cref="IRecordHandler"/>; lost reports only count (see <see cref="PerfBuffer.LostCount"/>).</summary>
internal ref struct RecordHandlerAdapter<THandler> : IPerfRecordHandler where THandler : IRecordHandler, allows ref struct
{
    public THandler Inner;

    public void OnSample(in PerfSample sample) => Inner.OnRecord(sample.Data);

    public readonly void OnLost(in PerfLost lost)
    {
    }
}
