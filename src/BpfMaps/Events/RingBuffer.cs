using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps.Events;

/// <summary>
/// The consumer end of a BPF_MAP_TYPE_RINGBUF map (Linux 5.8): BPF programs write records with
/// bpf_ringbuf_output or bpf_ringbuf_reserve/submit/discard, and this reads them from the ring's memory,
/// mapped into the process, with no syscall per record and no copy: each record reaches the handler as a
/// span into the ring. Waiting is epoll on the map.
/// </summary>
/// <remarks>
/// <para>The consumer page is mapped read-write and the producer page and data read-only, the data twice over
/// (as the kernel lays it out), so every record is contiguous. The producer position is read with acquire
/// semantics, each record header too; a record still marked busy stops the walk (the next one waits for it),
/// one marked discarded is skipped; the consumer position is published with release semantics after the
/// handler returns, so the producer cannot reuse the space while the handler reads it.</para>
/// <para>A ring has one consumer: two threads consuming at once is an <see cref="InvalidOperationException"/>.
/// <see cref="Dispose"/> may race a consumer on another thread: the memory stays mapped until the consumer is
/// done, and a blocked <see cref="Poll{THandler}(TimeSpan, ref THandler)"/> returns.</para>
/// <para>In-process ring buffers (BpfMaps.InProcess) have the same layout and are read by the same code.</para>
/// </remarks>
public sealed unsafe partial class RingBuffer : IDisposable
{
    private readonly MappedRegion _consumerPage;
    private readonly MappedRegion _data;
    private readonly SafeHandle _pollHandle;
    private readonly EpollHandle _epoll;
    private readonly EventFdHandle _wake;
    private readonly ulong* _consumerPos;
    private readonly ulong* _producerPos;
    private readonly byte* _ring;
    private readonly ulong _mask;
    private int _consuming;
    private bool _corrupt;
    private volatile bool _disposed;

    private const ulong RingToken = 0;
    private const ulong WakeToken = 1;

    private RingBuffer(string name, MappedRegion consumerPage, MappedRegion data, SafeHandle pollHandle, EpollHandle epoll, EventFdHandle wake, int size)
    {
        Name = name;
        _consumerPage = consumerPage;
        _data = data;
        _pollHandle = pollHandle;
        _epoll = epoll;
        _wake = wake;
        _consumerPos = (ulong*)consumerPage.Address;
        _producerPos = (ulong*)data.Address;
        _ring = data.Address + RingLayout.PageSize;
        _mask = (ulong)size - 1;
        Size = size;
    }

    /// <summary>The map's name, for messages.</summary>
    public string Name { get; }

    /// <summary>Bytes of data the ring holds (the map's <c>max_entries</c>).</summary>
    public int Size { get; }

    /// <summary>The consumer position: bytes consumed since the ring was created (headers and padding included).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long ConsumerPosition => (long)ReadPosition(_consumerPage, _consumerPos);

    /// <summary>The producer position: bytes reserved since the ring was created.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long ProducerPosition => (long)ReadPosition(_data, _producerPos);

    /// <summary>Bytes reserved and not yet consumed (BPF_RB_AVAIL_DATA): committed records, and any still busy.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long AvailableBytes => ProducerPosition - ConsumerPosition;

    /// <summary>
    /// Maps a ring buffer map for reading (mmap of the consumer page read-write, of the producer page and data
    /// read-only; Linux 5.8) and sets up the epoll instance its <see cref="Poll{THandler}(TimeSpan, ref THandler)"/>
    /// waits on. The ring keeps its own descriptor of the map: <paramref name="map"/> may be disposed first.
    /// </summary>
    /// <param name="map">A BPF_MAP_TYPE_RINGBUF map, kernel or in-process.</param>
    /// <returns>The consumer; dispose it to unmap.</returns>
    /// <exception cref="ArgumentException">The map is not a ring buffer (a user ring buffer is written with <see cref="UserRingBuffer"/>).</exception>
    /// <exception cref="BpfException">mmap, epoll or eventfd failed (EMFILE, ENOMEM).</exception>
    public static RingBuffer Open(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Type != MapType.RingBuf)
        {
            throw new ArgumentException(map.Type == MapType.UserRingBuf
                ? $"{map} is a user ring buffer, which this process writes and BPF programs read: open it with UserRingBuffer"
                : $"{map} is not a ring buffer: RingBuffer reads BPF_MAP_TYPE_RINGBUF maps (Linux 5.8), and this one is {map.Type.KernelName()}", nameof(map));
        }

        int size = CheckSize(map);
        MappedRegion? consumer = null, data = null;
        SafeHandle? poll = null;
        EpollHandle? epoll = null;
        EventFdHandle? wake = null;
        try
        {
            IMapMemoryBackend memory = MemoryOf(map);
            int page = RingLayout.PageSize;
            Check(memory.MapMemory(0, page, writable: true, out consumer), KernelCall.Mmap, map, "the consumer page");
            Check(memory.MapMemory(page, page + 2L * size, writable: false, out data), KernelCall.Mmap, map, "the producer page and data");
            Check(memory.OpenPollHandle(out poll), KernelCall.Dup, map, "its descriptor");
            Check(EpollSyscall.EpollCreate(out epoll), KernelCall.EpollCreate, map, null);
            Check(EpollSyscall.EventFdCreate(out wake), KernelCall.EventFd, map, null);
            Check(EpollSyscall.EpollAdd(epoll, poll!, EpollSyscall.In, RingToken), KernelCall.EpollCtl, map, null);
            Check(EpollSyscall.EpollAdd(epoll, wake, EpollSyscall.In, WakeToken), KernelCall.EpollCtl, map, null);
            return new RingBuffer(map.Name, consumer!, data!, poll!, epoll, wake, size);
        }
        catch
        {
            consumer?.Dispose();
            data?.Dispose();
            poll?.Dispose();
            epoll?.Dispose();
            wake?.Dispose();
            throw;
        }
    }

    /// <summary>Hands every committed record to <paramref name="handler"/>, without waiting (libbpf's ring_buffer__consume).</summary>
    /// <param name="handler">Called once per record; the span is valid for the call only.</param>
    /// <returns>Records handed over (discarded ones are skipped and not counted).</returns>
    /// <exception cref="InvalidOperationException">Another thread is consuming this ring.</exception>
    /// <exception cref="EventSourceGoneException">A record header is corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public int Consume(RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var h = new DelegateRecordHandler(handler);
        return ConsumeCore(ref h, int.MaxValue);
    }

    /// <summary>
    /// Hands every committed record to <paramref name="handler"/>, without waiting. A struct handler is called
    /// directly (no virtual call, no allocation); a ref struct handler may hold spans.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="handler">Called once per record; its state is updated in place.</param>
    /// <returns>Records handed over.</returns>
    /// <exception cref="InvalidOperationException">Another thread is consuming this ring.</exception>
    /// <exception cref="EventSourceGoneException">A record header is corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public int Consume<THandler>(ref THandler handler) where THandler : IRecordHandler, allows ref struct
        => ConsumeCore(ref handler, int.MaxValue);

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for records (epoll on the map), then hands every committed record to
    /// <paramref name="handler"/> (libbpf's ring_buffer__poll). Returns at once when records are already there.
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit, zero not to wait.</param>
    /// <param name="handler">Called once per record.</param>
    /// <returns>Records handed over: 0 when the wait timed out, <see cref="Wake"/> was called, or only a busy record is there.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than infinite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is consuming this ring.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">epoll_wait failed.</exception>
    public int Poll(TimeSpan timeout, RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var h = new DelegateRecordHandler(handler);
        return Poll(timeout, ref h);
    }

    /// <summary>Like <see cref="Poll(TimeSpan, RecordHandler)"/>, with a handler called directly.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="handler">Called once per record.</param>
    /// <returns>Records handed over.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than infinite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is consuming this ring.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">epoll_wait failed.</exception>
    public int Poll<THandler>(TimeSpan timeout, ref THandler handler) where THandler : IRecordHandler, allows ref struct
    {
        int ms = EventWait.ToMilliseconds(timeout);
        int n = ConsumeCore(ref handler, int.MaxValue);
        if (n > 0 || ms == 0 || !Wait(ms))
        {
            return n;
        }

        return ConsumeCore(ref handler, int.MaxValue);
    }

    /// <summary>
    /// Copies the next committed record into memory from <see cref="ArrayPool{T}.Shared"/>, without waiting.
    /// This path allocates the owner object; the span path (<see cref="Consume{THandler}(ref THandler)"/>) does not.
    /// </summary>
    /// <param name="record">The copy (dispose it to return the array), or null when there is none.</param>
    /// <returns>Whether a record was read.</returns>
    /// <exception cref="InvalidOperationException">Another thread is consuming this ring.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public bool TryRead([NotNullWhen(true)] out IMemoryOwner<byte>? record)
    {
        var copy = new CopyHandler();
        ConsumeCore(ref copy, 1);
        record = copy.Record;
        return record is not null;
    }

    /// <summary>Makes a wait in progress (or the next one) return at once, with no records.</summary>
    public void Wake()
    {
        _ = EpollSyscall.EventFdSignal(_wake);
    }

    /// <summary>Unmaps the ring and closes its descriptors. A consumer on another thread finishes first; a blocked wait returns.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Wake();
        _epoll.Dispose();
        _wake.Dispose();
        _pollHandle.Dispose();
        _consumerPage.Dispose();
        _data.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"ring buffer '{Name}' ({Size} bytes)";

    internal SafeHandle PollHandle => _pollHandle;

    /// <summary>Whether the producer is ahead of the consumer (records, or a busy one, are there).</summary>
    internal bool HasData
    {
        get
        {
            bool a = false, b = false;
            try
            {
                _data.DangerousAddRef(ref a);
                _consumerPage.DangerousAddRef(ref b);
                return Volatile.Read(ref *_producerPos) != Volatile.Read(ref *_consumerPos);
            }
            finally
            {
                if (a)
                {
                    _data.DangerousRelease();
                }

                if (b)
                {
                    _consumerPage.DangerousRelease();
                }
            }
        }
    }

    /// <summary>After epoll reported the ring ready: an in-process ring's eventfd is read back to quiet.</summary>
    internal void AfterWake()
    {
        if (_pollHandle is EventFdHandle e)
        {
            _ = EpollSyscall.EventFdReset(e);
        }
    }

    /// <summary>
    /// The consumer loop: walks from the consumer position to the producer position, stops at a busy record,
    /// skips discarded ones, and publishes the consumer position after each record's handler returns (or throws).
    /// </summary>
    internal int ConsumeCore<THandler>(ref THandler handler, int limit) where THandler : IRecordHandler, allows ref struct
    {
        if (Interlocked.Exchange(ref _consuming, 1) != 0)
        {
            ThrowConcurrentConsumer();
        }

        bool data = false, consumer = false;
        try
        {
            _data.DangerousAddRef(ref data);
            _consumerPage.DangerousAddRef(ref consumer);
            int n = Walk(ref handler, limit);
            if (n < 0)
            {
                ThrowCorrupt();
            }

            return n;
        }
        catch when (data && consumer && !_corrupt)
        {
            // A handler threw: its record still counts as consumed, so it is not delivered again. Walk publishes
            // the position after every record, so the one at the consumer position is the one that threw.
            SkipRecordAtConsumer();
            throw;
        }
        finally
        {
            if (data)
            {
                _data.DangerousRelease();
            }

            if (consumer)
            {
                _consumerPage.DangerousRelease();
            }

            Volatile.Write(ref _consuming, 0);
        }
    }

    // Fully optimized from the first call: a consumer may drain millions of records in one call, before tiered
    // compilation would have promoted the loop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Walk<THandler>(ref THandler handler, int limit) where THandler : IRecordHandler, allows ref struct
    {
        // Locals, so the loop keeps them in registers; and no exception handling in here, which would keep them on
        // the stack (ConsumeCore deals with a handler that throws).
        ulong* consumerPos = _consumerPos;
        ulong* producerPos = _producerPos;
        byte* ring = _ring;
        ulong mask = _mask;
        ulong cons = Volatile.Read(ref *consumerPos);
        int n = 0;
        while (true)
        {
            // Pairs with the producer's release of producer_pos: the headers up to it are written.
            ulong prod = Volatile.Read(ref *producerPos);
            if (cons >= prod)
            {
                return n;
            }

            do
            {
                byte* header = ring + (cons & mask);
                uint len = Volatile.Read(ref *(uint*)header);
                if ((len & RingLayout.BusyBit) != 0)
                {
                    return n;
                }

                // A record starts at most 8 bytes before the ring's end and the data is mapped twice: a length below
                // the ring's size stays inside the mapping. The kernel never writes more; anything else is corrupt,
                // and the caller throws for it (a throw in this loop would cost it registers).
                uint size = len & ~(RingLayout.BusyBit | RingLayout.DiscardBit);
                if (size > mask)
                {
                    return -1;
                }

                cons += RingLayout.Total(size);
                if ((len & RingLayout.DiscardBit) == 0)
                {
                    n++;
                    handler.OnRecord(new ReadOnlySpan<byte>(header + RingLayout.HeaderSize, (int)size));
                }

                // Pairs with the producer's acquire of consumer_pos: the space is free once this is seen.
                Volatile.Write(ref *consumerPos, cons);
                if (n >= limit)
                {
                    return n;
                }
            }
            while (cons < prod);
        }
    }

    private void SkipRecordAtConsumer()
    {
        ulong cons = Volatile.Read(ref *_consumerPos);
        uint len = Volatile.Read(ref *(uint*)(_ring + (cons & _mask)));
        uint size = len & ~(RingLayout.BusyBit | RingLayout.DiscardBit);
        if ((len & RingLayout.BusyBit) == 0 && size <= _mask)
        {
            Volatile.Write(ref *_consumerPos, cons + RingLayout.Total(size));
        }
    }

    /// <summary>Blocks until the ring has data, <see cref="Wake"/> is called, or the timeout passes; true when there may be data.</summary>
    internal bool Wait(int timeoutMs)
    {
        if (HasData)
        {
            return true;
        }

        Span<ulong> ready = stackalloc ulong[2];
        int err = EventWait.Wait(_epoll, _wake, ready, timeoutMs, out int count);
        if (err == Errno.EBADF && _disposed)
        {
            return false;
        }

        if (err != 0)
        {
            throw new BpfException(err, KernelCall.EpollWait, $"waiting on ring buffer '{Name}'");
        }

        bool data = false;
        for (int i = 0; i < count; i++)
        {
            if (ready[i] == WakeToken)
            {
                _ = EpollSyscall.EventFdReset(_wake);
            }
            else
            {
                AfterWake();
                data = true;
            }
        }

        return data;
    }

    private static int CheckSize(BpfMap map)
    {
        if (RingLayout.CheckDataSize(map.MaxEntries) is { } why)
        {
            throw new ArgumentException($"{map}: {why}", nameof(map));
        }

        return map.MaxEntries;
    }

    internal static IMapMemoryBackend MemoryOf(BpfMap map)
        => DelegatingMapBackend.Innermost(map.Backend) as IMapMemoryBackend
            ?? throw new ArgumentException($"{map} has a backend that cannot map memory (neither the kernel nor the in-process engine)", nameof(map));

    internal static void Check(int err, KernelCall call, BpfMap map, string? what)
    {
        if (err != 0)
        {
            throw new BpfException(err, call, what is null ? $"ring buffer '{map.Name}'" : $"ring buffer '{map.Name}': {what}");
        }
    }

    private ulong ReadPosition(MappedRegion region, ulong* position)
    {
        bool added = false;
        try
        {
            region.DangerousAddRef(ref added);
            return Volatile.Read(ref *position);
        }
        finally
        {
            if (added)
            {
                region.DangerousRelease();
            }
        }
    }

    [DoesNotReturn]
    private static void ThrowConcurrentConsumer()
        => throw new InvalidOperationException("another thread is consuming this ring buffer (or a handler called back into it); a ring has one consumer");

    [DoesNotReturn]
    private void ThrowCorrupt()
    {
        _corrupt = true;
        ulong position = Volatile.Read(ref *_consumerPos);
        uint header = Volatile.Read(ref *(uint*)(_ring + (position & _mask)));
        throw new EventSourceGoneException(ToString(), -1, $"ring buffer '{Name}' is corrupt: the record header at position {position} reads 0x{header:x8}, a length beyond the ring's {Size} bytes");
    }

    private struct CopyHandler : IRecordHandler
    {
        public IMemoryOwner<byte>? Record;

        public void OnRecord(ReadOnlySpan<byte> record) => Record = PooledRecord.Copy(record);
    }
}
