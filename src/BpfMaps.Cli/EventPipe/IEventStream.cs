using BpfMaps.Events;
namespace BpfMaps.Cli.EventPipe;

/// <summary>
/// What <c>event_pipe</c> reads from: a perf buffer over a perf event array, or a ring buffer. The seam between the
/// command and the library's readers (tests wrap it to make a ring go away mid-read).
/// </summary>
internal interface IEventStream : IDisposable
{
    /// <summary>The perf rings (CPU and slot), or null for a ring buffer.</summary>
    IReadOnlyList<PerfBufferSlot>? Slots { get; }

    /// <summary>Waits up to <paramref name="timeout"/> for records and hands every one to <paramref name="sink"/>.</summary>
    /// <param name="timeout">How long to wait; infinite for no limit.</param>
    /// <param name="sink">Receives the records.</param>
    /// <returns>Records handed over.</returns>
    /// <exception cref="EventSourceGoneException">A ring stopped being readable.</exception>
    int Poll(TimeSpan timeout, EventSink sink);

    /// <summary>Makes a wait in progress return.</summary>
    void Wake();
}

/// <summary>A perf event array read through <see cref="PerfBuffer"/>.</summary>
/// <param name="reader">The reader; owned.</param>
internal sealed class PerfEventStream(PerfBuffer reader) : IEventStream
{
    /// <inheritdoc />
    public IReadOnlyList<PerfBufferSlot>? Slots => reader.Slots;

    /// <inheritdoc />
    public int Poll(TimeSpan timeout, EventSink sink) => reader.PollRecords(timeout, ref sink);

    /// <inheritdoc />
    public void Wake() => reader.Wake();

    /// <inheritdoc />
    public void Dispose() => reader.Dispose();
}

/// <summary>A BPF_MAP_TYPE_RINGBUF read through <see cref="RingBuffer"/>.</summary>
/// <param name="reader">The reader; owned.</param>
internal sealed class RingEventStream(RingBuffer reader) : IEventStream
{
    /// <inheritdoc />
    public IReadOnlyList<PerfBufferSlot>? Slots => null;

    /// <inheritdoc />
    public int Poll(TimeSpan timeout, EventSink sink) => reader.Poll(timeout, ref sink);

    /// <inheritdoc />
    public void Wake() => reader.Wake();

    /// <inheritdoc />
    public void Dispose() => reader.Dispose();
}
