namespace BpfMaps.Events;

/// <summary>
/// Receives the records of a ring buffer, one call each, as a span into the ring's memory: valid only for the
/// call (copy what you keep), never allocated. As a struct (or a ref struct holding spans) passed by
/// <c>ref</c> to <see cref="RingBuffer.Consume{THandler}(ref THandler)"/>, the call is devirtualized and inlined.
/// </summary>
public interface IRecordHandler
{
    /// <summary>One record. If this throws, the record still counts as consumed (it is not delivered again) and the exception propagates.</summary>
    /// <param name="record">The record's bytes, as the producer wrote them (the 8-byte header is not included).</param>
    void OnRecord(ReadOnlySpan<byte> record);
}

/// <summary>A delegate form of <see cref="IRecordHandler"/>: one record, as a span valid only for the call.</summary>
/// <param name="record">The record's bytes.</param>
public delegate void RecordHandler(ReadOnlySpan<byte> record);

/// <summary>Adapts a <see cref="RecordHandler"/> to <see cref="IRecordHandler"/> without allocating.</summary>
internal readonly struct DelegateRecordHandler(RecordHandler handler) : IRecordHandler
{
    public void OnRecord(ReadOnlySpan<byte> record) => handler(record);
}
