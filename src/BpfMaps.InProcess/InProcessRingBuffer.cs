using BpfMaps.Events;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess;

/// <summary>
/// The BPF-program side of in-process ring buffers, so applications and tests can produce and consume events
/// without bpf(): for a ringbuf, what bpf_ringbuf_reserve/submit/discard and bpf_ringbuf_output do (the records
/// are read with <see cref="RingBuffer"/>, as from a kernel ring); for a user_ringbuf, what bpf_user_ringbuf_drain
/// does (records written with <see cref="UserRingBuffer"/>). Same layout, busy and discard bits, positions and
/// wake-ups as the kernel.
/// </summary>
/// <remarks>
/// Create the map with <see cref="InProcessMap.Create"/> and <c>MapSpec { Type = MapType.RingBuf, KeySize = 0,
/// ValueSize = 0, MaxEntries = size }</c> (a power of two, a multiple of the page size). A full ring is a false
/// return, as the helpers return NULL or -EAGAIN; the producer may run at most size - 1 bytes ahead of the consumer.
/// </remarks>
public static class InProcessRingBuffer
{
    /// <summary>
    /// Reserves a record of <paramref name="size"/> bytes (bpf_ringbuf_reserve): fill
    /// <see cref="InProcessRingBufferReservation.Span"/>, then submit or discard it exactly once. A consumer stops at
    /// it until then.
    /// </summary>
    /// <param name="ring">An in-process ringbuf map.</param>
    /// <param name="size">Bytes of data, at most the ring's size less 8.</param>
    /// <param name="reservation">The reservation; default when the ring is full.</param>
    /// <returns>False when the record does not fit now (the helper's NULL).</returns>
    /// <exception cref="ArgumentException">Not an in-process ringbuf.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative or can never fit.</exception>
    /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
    public static bool TryReserve(BpfMap ring, int size, out InProcessRingBufferReservation reservation)
    {
        RingTable table = Table(ring, MapType.RingBuf);
        CheckSize(table, size);
        reservation = default;
        ObjectDisposedException.ThrowIf(!table.TryLease(), ring);

        if (!table.TryReserve((uint)size, out ulong position))
        {
            table.Unlease();
            return false;
        }

        reservation = new InProcessRingBufferReservation(table, position, size);
        return true;
    }

    /// <summary>Writes <paramref name="data"/> as one record (bpf_ringbuf_output).</summary>
    /// <param name="ring">An in-process ringbuf map.</param>
    /// <param name="data">The record.</param>
    /// <param name="wakeup">When to wake a waiting consumer.</param>
    /// <returns>False when the ring is full (the helper's -EAGAIN).</returns>
    /// <exception cref="ArgumentException">Not an in-process ringbuf.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The record can never fit.</exception>
    /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
    public static bool TryOutput(BpfMap ring, ReadOnlySpan<byte> data, RingBufferWakeup wakeup = RingBufferWakeup.Default)
    {
        if (!TryReserve(ring, data.Length, out InProcessRingBufferReservation r))
        {
            return false;
        }

        data.CopyTo(r.Span);
        r.Submit(wakeup);
        return true;
    }

    /// <summary>
    /// Hands the records of a user ring buffer to <paramref name="handler"/> in order, as bpf_user_ringbuf_drain hands
    /// them to its callback: discarded records are skipped, a busy one stops the drain, at most 131072 records per
    /// call, and the consumer position moves past each record once its call returns.
    /// </summary>
    /// <param name="userRing">An in-process user_ringbuf map.</param>
    /// <param name="handler">Called once per record, with a span valid for the call.</param>
    /// <returns>Records handed over.</returns>
    /// <exception cref="ArgumentException">Not an in-process user_ringbuf.</exception>
    /// <exception cref="BpfException">EBUSY: another drain is running; EINVAL/E2BIG: the producer wrote a malformed record.</exception>
    public static int Drain(BpfMap userRing, RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var h = new Handler(handler);
        return Drain(userRing, ref h);
    }

    /// <summary>Like <see cref="Drain(BpfMap, RecordHandler)"/>, with a handler called directly.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="userRing">An in-process user_ringbuf map.</param>
    /// <param name="handler">Called once per record.</param>
    /// <returns>Records handed over.</returns>
    /// <exception cref="ArgumentException">Not an in-process user_ringbuf.</exception>
    /// <exception cref="BpfException">EBUSY, EINVAL, E2BIG, as <see cref="Drain(BpfMap, RecordHandler)"/>.</exception>
    public static int Drain<THandler>(BpfMap userRing, ref THandler handler) where THandler : IRecordHandler, allows ref struct
    {
        RingTable table = Table(userRing, MapType.UserRingBuf);
        ObjectDisposedException.ThrowIf(!table.TryLease(), userRing);

        try
        {
            long n = table.Drain(ref handler);
            if (n < 0)
            {
                throw new BpfException((int)-n, KernelCall.UserRingbufDrain, n == -Errno.EBUSY ? "another drain of this ring is running" : "the producer wrote a malformed record");
            }

            return (int)n;
        }
        finally
        {
            table.Unlease();
        }
    }

    private static RingTable Table(BpfMap map, MapType type)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (InProcessMap.Unwrap(map.Backend) is not { } backend)
        {
            throw new ArgumentException($"{map} is a kernel map: its records are produced by BPF programs (EventProgram, the ring buffer helpers)", nameof(map));
        }

        RingTable? table = backend.Core as RingTable;
        ObjectDisposedException.ThrowIf(table is null && backend.Core is null, map);

        if (table is null || table.Info.Type != type)
        {
            throw new ArgumentException($"{map} is not a {type.KernelName()} map", nameof(map));
        }

        return table;
    }

    private static void CheckSize(RingTable table, int size)
    {
        int max = table.Size - RingLayout.HeaderSize;
        if ((uint)size > (uint)max)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"a record of {size} bytes never fits a ring of {table.Size} bytes, which takes 0 to {max}");
        }
    }

    private readonly struct Handler(RecordHandler handler) : IRecordHandler
    {
        public void OnRecord(ReadOnlySpan<byte> record) => handler(record);
    }
}

/// <summary>
/// A record reserved in an in-process ring buffer (<see cref="InProcessRingBuffer.TryReserve"/>): fill
/// <see cref="Span"/>, then <see cref="Submit"/> or <see cref="Discard"/> it exactly once.
/// </summary>
public readonly struct InProcessRingBufferReservation : IEquatable<InProcessRingBufferReservation>
{
    private readonly RingTable? _table;
    private readonly ulong _position;

    internal InProcessRingBufferReservation(RingTable table, ulong position, int length)
    {
        _table = table;
        _position = position;
        Length = length;
    }

    /// <summary>Bytes reserved.</summary>
    public int Length { get; }

    /// <summary>The record's bytes in the ring.</summary>
    /// <exception cref="InvalidOperationException">A default reservation.</exception>
    public Span<byte> Span => Table.DataOf(_position, Length);

    /// <summary>Publishes the record (bpf_ringbuf_submit).</summary>
    /// <param name="wakeup">When to wake a waiting consumer.</param>
    /// <exception cref="InvalidOperationException">Already submitted or discarded, or a default reservation.</exception>
    public void Submit(RingBufferWakeup wakeup = RingBufferWakeup.Default) => Commit(discard: false, wakeup);

    /// <summary>Gives the record up (bpf_ringbuf_discard); a consumer skips it.</summary>
    /// <param name="wakeup">When to wake a waiting consumer.</param>
    /// <exception cref="InvalidOperationException">Already submitted or discarded, or a default reservation.</exception>
    public void Discard(RingBufferWakeup wakeup = RingBufferWakeup.Default) => Commit(discard: true, wakeup);

    private RingTable Table => _table ?? throw new InvalidOperationException("this reservation is default: TryReserve returned false");

    private void Commit(bool discard, RingBufferWakeup wakeup)
    {
        RingTable t = Table;
        if (!t.Commit(_position, (uint)Length, discard, wakeup))
        {
            throw new InvalidOperationException($"the reservation at position {_position} was already submitted or discarded");
        }

        t.Unlease();
    }

    /// <inheritdoc />
    public bool Equals(InProcessRingBufferReservation other) => ReferenceEquals(_table, other._table) && _position == other._position;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is InProcessRingBufferReservation r && Equals(r);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_table, _position);

    /// <summary>Whether two reservations are the same.</summary>
    /// <param name="left">One.</param>
    /// <param name="right">The other.</param>
    /// <returns>Equal.</returns>
    public static bool operator ==(InProcessRingBufferReservation left, InProcessRingBufferReservation right) => left.Equals(right);

    /// <summary>Whether two reservations differ.</summary>
    /// <param name="left">One.</param>
    /// <param name="right">The other.</param>
    /// <returns>Not equal.</returns>
    public static bool operator !=(InProcessRingBufferReservation left, InProcessRingBufferReservation right) => !left.Equals(right);
}
