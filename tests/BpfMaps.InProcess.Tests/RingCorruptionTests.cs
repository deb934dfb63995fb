using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Events;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// A ring buffer whose record header is not one the kernel would write: the reader stops with
/// <see cref="EventSourceGoneException"/> naming the position and the header, hands over nothing past it, and does
/// not skip it. A kernel ring's data pages are read-only to the reader, so the header is overwritten in an in-process ring.
/// </summary>
public class RingCorruptionTests
{
    [Fact]
    public unsafe void A_header_longer_than_the_ring_stops_the_reader_at_that_record_without_skipping_it()
    {
        const int size = 1 << 16;
        using BpfMap ring = InProcessMap.Create(EventConformanceTests.RingSpec(size));
        Assert.True(InProcessRingBuffer.TryOutput(ring, [1, 2, 3, 4, 5, 6, 7, 8]));

        // The second record: its header is the 8 bytes before its data.
        Assert.True(InProcessRingBuffer.TryReserve(ring, 8, out InProcessRingBufferReservation second));
        byte* header = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(second.Span)) - 8;
        second.Span.Fill(9);
        second.Submit();
        const uint bogus = 0x00ff_0000; // no busy or discard bit, a length past the ring's 64 KiB
        Unsafe.WriteUnaligned(header, bogus);

        using RingBuffer reader = RingBuffer.Open(ring);
        Assert.Equal(32, reader.ProducerPosition);
        Assert.Equal(bogus, Unsafe.ReadUnaligned<uint>(header));
        var seen = new List<byte[]>();
        var e = Assert.Throws<EventSourceGoneException>(() => reader.Consume(r => seen.Add(r.ToArray())));
        Assert.Equal([[1, 2, 3, 4, 5, 6, 7, 8]], seen);
        Assert.Contains("is corrupt: the record header at position 16 reads 0x00ff0000, a length beyond the ring's 65536 bytes", e.Message, StringComparison.Ordinal);
        Assert.Equal(16, reader.ConsumerPosition);

        // The bad record is not skipped: the next call stops at it again, and nothing is handed over...
        Assert.Throws<EventSourceGoneException>(() => reader.Consume(r => seen.Add(r.ToArray())));
        Assert.Single(seen);
        Assert.Equal(16, reader.ConsumerPosition);

        // ...until its header reads as the kernel would write it: then it is the next record.
        Unsafe.WriteUnaligned(header, 8u);
        Assert.Equal(1, reader.Consume(r => seen.Add(r.ToArray())));
        Assert.Equal([9, 9, 9, 9, 9, 9, 9, 9], seen[1]);
        Assert.Equal(32, reader.ConsumerPosition);
    }
}
