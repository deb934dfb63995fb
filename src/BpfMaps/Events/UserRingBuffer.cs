using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps.Events;

/// <summary>
/// The producer end of a BPF_MAP_TYPE_USER_RINGBUF map (Linux 6.1): this process writes records into the ring's
/// memory, mapped into the process, and BPF programs read them with bpf_user_ringbuf_drain. No syscall per record.
/// </summary>
/// <remarks>
/// <para>The producer page and data are mapped read-write and the consumer page read-only (the kernel refuses a
/// writable consumer page). A record is reserved with its 8-byte header marked busy and the producer position
/// published (release), filled, then submitted or discarded by clearing the busy bit (release). The kernel's
/// drain stops at a busy record, skips a discarded one and advances the consumer position as it goes.</para>
/// <para>Reserving is safe from several threads (a short lock orders reservations); each reservation is
/// submitted or discarded once, by any thread. A reservation keeps the mapping alive until then, so one that
/// is never submitted holds the ring's memory (and stops the kernel's drain at it).</para>
/// </remarks>
public sealed unsafe class UserRingBuffer : IDisposable
{
    private readonly MappedRegion _consumerPage;
    private readonly MappedRegion _data;
    private readonly ulong* _consumerPos;
    private readonly ulong* _producerPos;
    private readonly byte* _ring;
    private readonly ulong _mask;
    private readonly Lock _reserve = new();

    private UserRingBuffer(string name, MappedRegion consumerPage, MappedRegion data, int size)
    {
        Name = name;
        _consumerPage = consumerPage;
        _data = data;
        _consumerPos = (ulong*)consumerPage.Address;
        _producerPos = (ulong*)data.Address;
        _ring = data.Address + RingLayout.PageSize;
        _mask = (ulong)size - 1;
        Size = size;
        MaxRecordSize = Math.Min(size - RingLayout.HeaderSize, RingLayout.MaxDynptrSize);
    }

    /// <summary>The map's name, for messages.</summary>
    public string Name { get; }

    /// <summary>Bytes of data the ring holds (the map's <c>max_entries</c>).</summary>
    public int Size { get; }

    /// <summary>
    /// The largest record: the ring's size less the 8-byte header, and at most 2^24 - 1 bytes, the most
    /// bpf_user_ringbuf_drain hands to its callback (a larger one makes the drain fail with E2BIG).
    /// </summary>
    public int MaxRecordSize { get; }

    /// <summary>Bytes free for records now (headers and padding take room too).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long FreeBytes
    {
        get
        {
            using var lease = new Lease(this);
            return Size - (long)(Volatile.Read(ref *_producerPos) - Volatile.Read(ref *_consumerPos));
        }
    }

    /// <summary>The consumer position: bytes the kernel has drained since the ring was created.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long ConsumerPosition
    {
        get
        {
            using var lease = new Lease(this);
            return (long)Volatile.Read(ref *_consumerPos);
        }
    }

    /// <summary>The producer position: bytes reserved since the ring was created.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long ProducerPosition
    {
        get
        {
            using var lease = new Lease(this);
            return (long)Volatile.Read(ref *_producerPos);
        }
    }

    /// <summary>
    /// Maps a user ring buffer map for writing (mmap of the consumer page read-only, of the producer page and data
    /// read-write; Linux 6.1).
    /// </summary>
    /// <param name="map">A BPF_MAP_TYPE_USER_RINGBUF map, kernel or in-process.</param>
    /// <returns>The producer; dispose it to unmap.</returns>
    /// <exception cref="ArgumentException">The map is not a user ring buffer (a kernel-producer ring is read with <see cref="RingBuffer"/>).</exception>
    /// <exception cref="BpfException">mmap failed.</exception>
    public static UserRingBuffer Open(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Type != MapType.UserRingBuf)
        {
            throw new ArgumentException(map.Type == MapType.RingBuf
                ? $"{map} is a ring buffer that BPF programs write and this process reads: open it with RingBuffer"
                : $"{map} is not a user ring buffer: UserRingBuffer writes BPF_MAP_TYPE_USER_RINGBUF maps (Linux 6.1), and this one is {map.Type.KernelName()}", nameof(map));
        }

        if (RingLayout.CheckDataSize(map.MaxEntries) is { } why)
        {
            throw new ArgumentException($"{map}: {why}", nameof(map));
        }

        MappedRegion? consumer = null, data = null;
        try
        {
            IMapMemoryBackend memory = RingBuffer.MemoryOf(map);
            int page = RingLayout.PageSize;
            RingBuffer.Check(memory.MapMemory(0, page, writable: false, out consumer), KernelCall.Mmap, map, "the consumer page");
            RingBuffer.Check(memory.MapMemory(page, page + 2L * map.MaxEntries, writable: true, out data), KernelCall.Mmap, map, "the producer page and data");
            return new UserRingBuffer(map.Name, consumer!, data!, map.MaxEntries);
        }
        catch
        {
            consumer?.Dispose();
            data?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reserves room for a record of <paramref name="size"/> bytes, or says the ring is full. Fill
    /// <see cref="UserRingBufferReservation.Span"/>, then <see cref="UserRingBufferReservation.Submit"/> or
    /// <see cref="UserRingBufferReservation.Discard"/> it.
    /// </summary>
    /// <param name="size">Bytes of data, 0 to <see cref="MaxRecordSize"/>.</param>
    /// <param name="reservation">The reservation; default when the ring is full.</param>
    /// <returns>False when the ring has no room now (the BPF side has not drained it yet).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative or above <see cref="MaxRecordSize"/>.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public bool TryReserve(int size, out UserRingBufferReservation reservation)
    {
        CheckRecordSize(size);
        reservation = default;
        ulong total = RingLayout.Total((uint)size);
        ulong prod;

        // Both mappings stay leased by the reservation until it is committed (the commit reads both).
        bool data = false, consumer = false;
        try
        {
            _data.DangerousAddRef(ref data);
            _consumerPage.DangerousAddRef(ref consumer);
            lock (_reserve)
            {
                // Pairs with the kernel's release of consumer_pos after it drained a record.
                ulong cons = Volatile.Read(ref *_consumerPos);
                prod = *_producerPos;
                if ((ulong)Size - (prod - cons) < total)
                {
                    Release();
                    return false;
                }

                uint* header = (uint*)(_ring + (prod & _mask));
                header[0] = (uint)size | RingLayout.BusyBit;
                header[1] = 0;

                // The busy header is written before the kernel can see the producer position move past it.
                Volatile.Write(ref *_producerPos, prod + total);
            }
        }
        catch
        {
            if (data)
            {
                _data.DangerousRelease();
            }

            if (consumer)
            {
                _consumerPage.DangerousRelease();
            }

            throw;
        }

        reservation = new UserRingBufferReservation(this, prod, size);
        return true;
    }

    /// <summary>Reserves room for a record of <paramref name="size"/> bytes.</summary>
    /// <param name="size">Bytes of data, 0 to <see cref="MaxRecordSize"/>.</param>
    /// <returns>The reservation; submit or discard it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative or above <see cref="MaxRecordSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The ring is full (the BPF side has not drained it yet).</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public UserRingBufferReservation Reserve(int size)
    {
        if (!TryReserve(size, out UserRingBufferReservation r))
        {
            throw Full(size);
        }

        return r;
    }

    /// <summary>Writes <paramref name="record"/> as one record (reserve, copy, submit), or says the ring is full.</summary>
    /// <param name="record">The record's bytes, at most <see cref="MaxRecordSize"/>.</param>
    /// <returns>False when the ring has no room now.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The record is longer than <see cref="MaxRecordSize"/>.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public bool TryWrite(ReadOnlySpan<byte> record)
    {
        if (!TryReserve(record.Length, out UserRingBufferReservation r))
        {
            return false;
        }

        record.CopyTo(r.Span);
        r.Submit();
        return true;
    }

    /// <summary>Writes <paramref name="record"/> as one record.</summary>
    /// <param name="record">The record's bytes, at most <see cref="MaxRecordSize"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The record is longer than <see cref="MaxRecordSize"/>.</exception>
    /// <exception cref="InvalidOperationException">The ring is full.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public void Write(ReadOnlySpan<byte> record)
    {
        if (!TryWrite(record))
        {
            throw Full(record.Length);
        }
    }

    /// <summary>Unmaps the ring. Reservations not yet submitted keep the memory mapped until they are.</summary>
    public void Dispose()
    {
        _consumerPage.Dispose();
        _data.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"user ring buffer '{Name}' ({Size} bytes)";

    internal Span<byte> DataOf(ulong position, int size) => new(_ring + (position & _mask) + RingLayout.HeaderSize, size);

    /// <summary>Clears the busy bit of the reservation at <paramref name="position"/> (and sets the discard bit), once.</summary>
    internal void Commit(ulong position, int size, bool discard)
    {
        uint* header = (uint*)(_ring + (position & _mask));
        uint busy = (uint)size | RingLayout.BusyBit;
        uint done = (uint)size | (discard ? RingLayout.DiscardBit : 0);

        // Positions only grow, so a reservation behind the consumer was consumed (committed) long ago; a header
        // that is not this reservation's busy one was committed already.
        if (position < Volatile.Read(ref *_consumerPos) || Interlocked.CompareExchange(ref *header, done, busy) != busy)
        {
            throw new InvalidOperationException($"the reservation at position {position} of {this} was already submitted or discarded");
        }

        Release();
    }

    private void Release()
    {
        _consumerPage.DangerousRelease();
        _data.DangerousRelease();
    }

    private void CheckRecordSize(int size)
    {
        if ((uint)size > (uint)MaxRecordSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"a record of {size} bytes does not fit: {this} takes records of 0 to {MaxRecordSize} bytes");
        }
    }

    private InvalidOperationException Full(int size)
        => new($"{this} is full: a record of {size} bytes needs {RingLayout.Total((uint)size)} bytes and {FreeBytes} are free until a BPF program drains it (bpf_user_ringbuf_drain); TryReserve/TryWrite return false instead");

    private readonly ref struct Lease
    {
        private readonly UserRingBuffer _ring;

        public Lease(UserRingBuffer ring)
        {
            _ring = ring;
            bool a = false, b = false;
            ring._data.DangerousAddRef(ref a);
            try
            {
                ring._consumerPage.DangerousAddRef(ref b);
            }
            catch
            {
                ring._data.DangerousRelease();
                throw;
            }
        }

        public void Dispose()
        {
            _ring._consumerPage.DangerousRelease();
            _ring._data.DangerousRelease();
        }
    }
}

/// <summary>
/// Room reserved in a <see cref="UserRingBuffer"/> for one record: fill <see cref="Span"/>, then call
/// <see cref="Submit"/> or <see cref="Discard"/> exactly once. Until then the kernel's drain stops at it.
/// </summary>
public readonly struct UserRingBufferReservation : IEquatable<UserRingBufferReservation>
{
    private readonly UserRingBuffer? _ring;
    private readonly ulong _position;

    internal UserRingBufferReservation(UserRingBuffer ring, ulong position, int length)
    {
        _ring = ring;
        _position = position;
        Length = length;
    }

    /// <summary>Bytes reserved.</summary>
    public int Length { get; }

    /// <summary>The producer position the record starts at.</summary>
    public long Position => (long)_position;

    /// <summary>The record's bytes in the ring, to fill before submitting.</summary>
    /// <exception cref="InvalidOperationException">A default reservation.</exception>
    public Span<byte> Span => Ring.DataOf(_position, Length);

    /// <summary>Publishes the record to the BPF side (clears the busy bit with release semantics).</summary>
    /// <exception cref="InvalidOperationException">Already submitted or discarded, or a default reservation.</exception>
    public void Submit() => Ring.Commit(_position, Length, discard: false);

    /// <summary>Gives the record up: the BPF side skips it (sets the discard bit).</summary>
    /// <exception cref="InvalidOperationException">Already submitted or discarded, or a default reservation.</exception>
    public void Discard() => Ring.Commit(_position, Length, discard: true);

    private UserRingBuffer Ring => _ring ?? throw new InvalidOperationException("this reservation is default: TryReserve returned false");

    /// <inheritdoc />
    public bool Equals(UserRingBufferReservation other) => ReferenceEquals(_ring, other._ring) && _position == other._position;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is UserRingBufferReservation r && Equals(r);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_ring, _position);

    /// <summary>Whether two reservations are the same.</summary>
    /// <param name="left">One.</param>
    /// <param name="right">The other.</param>
    /// <returns>Equal.</returns>
    public static bool operator ==(UserRingBufferReservation left, UserRingBufferReservation right) => left.Equals(right);

    /// <summary>Whether two reservations differ.</summary>
    /// <param name="left">One.</param>
    /// <param name="right">The other.</param>
    /// <returns>Not equal.</returns>
    public static bool operator !=(UserRingBufferReservation left, UserRingBufferReservation right) => !left.Equals(right);
}
