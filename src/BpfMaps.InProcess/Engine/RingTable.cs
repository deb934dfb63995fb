using System.Runtime.InteropServices;
using BpfMaps.Events;
using BpfMaps.Programs;
using BpfMaps.Kernel;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// ringbuf and user_ringbuf (kernel/bpf/ringbuf.c) in process memory laid out as the kernel lays it out: a
/// memfd of a consumer page, a producer page and the data, mapped once and then the data once more right
/// after, so a record that wraps the end is contiguous. The library's <see cref="RingBuffer"/> and
/// <see cref="UserRingBuffer"/> map views of it exactly as they mmap a kernel map, with the kernel's rules
/// for which parts may be writable. An eventfd stands in for the map's wait queue.
/// </summary>
/// <remarks>
/// The producer side of a ringbuf (what a program's bpf_ringbuf_reserve/submit/discard/output do) and the
/// consumer side of a user_ringbuf (bpf_user_ringbuf_drain) follow the kernel: reservations under a lock,
/// the busy bit until commit, the pending position that keeps a new record from overrunning the oldest
/// uncommitted one, a wake-up when the consumer had caught up with the committed record.
/// </remarks>
internal sealed unsafe class RingTable : MapCore, IMappableCore
{
    private const int MaxUserSamples = 128 * 1024;
    private readonly MemoryMapping _memory;
    private readonly EventFdHandle _wait;
    private readonly ulong* _consumerPos;
    private readonly ulong* _producerPos;
    private readonly byte* _data;
    private readonly ulong _mask;
    private readonly int _page;
    private readonly bool _kernelProducer;
    private readonly Lock _lock = new();
    private ulong _pendingPos;
    private int _userBusy;

    private RingTable(MapInfo info, MemoryMapping memory, EventFdHandle wait, int page)
        : base(info, 1, 0)
    {
        _memory = memory;
        _wait = wait;
        _page = page;
        _consumerPos = (ulong*)memory.Address;
        _producerPos = (ulong*)(memory.Address + page);
        _data = memory.Address + (2 * page);
        _mask = (ulong)info.MaxEntries - 1;
        _kernelProducer = info.Type == MapType.RingBuf;
    }

    /// <summary>The data size (max_entries).</summary>
    public int Size => (int)(_mask + 1);

    /// <summary>Allocates the ring: 0 or errno (ENOMEM when the memory cannot be had).</summary>
    public static int Create(MapInfo info, out RingTable? table)
    {
        table = null;
        int page = Environment.SystemPageSize;
        nuint size = (nuint)info.MaxEntries;
        nuint meta = (nuint)(2 * page);
        int err = MemFdHandle.Create(meta + size, out MemFdHandle? memfd);
        if (err != 0)
        {
            return err;
        }

        using (memfd)
        {
            err = MemoryMapping.Reserve(meta + (2 * size), out MemoryMapping? memory);
            if (err != 0)
            {
                return err;
            }

            err = memory!.MapFixed(0, meta + size, memfd!, 0);
            if (err == 0)
            {
                err = memory.MapFixed(meta + size, size, memfd!, (long)meta);
            }

            if (err == 0)
            {
                err = EventFdHandle.Create(out EventFdHandle wait);
                if (err == 0)
                {
                    table = new RingTable(info, memory, wait, page);
                    return 0;
                }

                wait.Dispose();
            }

            memory.Dispose();
            return err == Errno.ENOMEM ? err : Errno.ENOMEM;
        }
    }

    /// <inheritdoc />
    public int MapMemory(long offset, long length, bool writable, out MappedRegion? region)
    {
        region = null;
        if (writable)
        {
            // ringbuf_map_mmap: a ringbuf's only writable part is the consumer page; a user_ringbuf's consumer page is never writable.
            if (_kernelProducer ? offset != 0 || length != _page : offset == 0)
            {
                return Errno.EPERM;
            }
        }

        long total = (2L * _page) + (2L * Size);
        if (offset < 0 || length <= 0 || offset % _page != 0 || length > total - offset)
        {
            return Errno.EINVAL;
        }

        int err = RegionView.Create(_memory, (nuint)offset, (nuint)length, writable, null, out RegionView? view);
        region = view;
        return err;
    }

    /// <inheritdoc />
    public int OpenPollHandle(out SafeHandle? handle)
    {
        int err = _wait.Duplicate(out EventFdHandle copy);
        if (err != 0)
        {
            copy.Dispose();
            handle = null;
            return err;
        }

        handle = copy;
        return 0;
    }

    /// <summary>bpf_ringbuf_reserve: the position of a record of <paramref name="size"/> bytes marked busy, or false when it does not fit.</summary>
    public bool TryReserve(uint size, out ulong position)
    {
        position = 0;
        ulong len = RingLayout.Total(size);
        if (size > uint.MaxValue / 4 || len > _mask + 1)
        {
            return false;
        }

        ulong cons = Volatile.Read(ref *_consumerPos);
        lock (_lock)
        {
            ulong prod = *_producerPos;
            ulong pend = _pendingPos;
            ulong newProd = prod + len;

            // Records committed since the last reservation no longer hold back the pending position.
            while (prod > pend)
            {
                uint hdr = Volatile.Read(ref *(uint*)(_data + (pend & _mask)));
                if ((hdr & RingLayout.BusyBit) != 0)
                {
                    break;
                }

                pend += RingLayout.Total(hdr & ~RingLayout.DiscardBit);
            }

            _pendingPos = pend;
            if (newProd - cons > _mask || newProd - pend > _mask)
            {
                return false;
            }

            uint* header = (uint*)(_data + (prod & _mask));
            header[0] = size | RingLayout.BusyBit;
            header[1] = (uint)((2 * _page + (long)(prod & _mask)) / _page);
            Volatile.Write(ref *_producerPos, newProd);
            position = prod;
            return true;
        }
    }

    /// <summary>The data of the record reserved at <paramref name="position"/>.</summary>
    public Span<byte> DataOf(ulong position, int size) => new(_data + (position & _mask) + RingLayout.HeaderSize, size);

    /// <summary>
    /// bpf_ringbuf_submit/discard: clears the busy bit (sets discard), then wakes the consumer if it had caught up
    /// with this record, or always with <see cref="RingBufferWakeup.Force"/>. False when the reservation was committed already.
    /// </summary>
    public bool Commit(ulong position, uint size, bool discard, RingBufferWakeup wakeup)
    {
        uint* header = (uint*)(_data + (position & _mask));
        uint busy = size | RingLayout.BusyBit;
        uint done = size | (discard ? RingLayout.DiscardBit : 0);
        if (position < Volatile.Read(ref *_consumerPos) || Interlocked.CompareExchange(ref *header, done, busy) != busy)
        {
            return false;
        }

        ulong cons = Volatile.Read(ref *_consumerPos) & _mask;
        if (wakeup == RingBufferWakeup.Force || (wakeup == RingBufferWakeup.Default && cons == (position & _mask)))
        {
            _ = _wait.Signal();
        }

        return true;
    }

    /// <summary>
    /// bpf_user_ringbuf_drain: hands committed records to <paramref name="handler"/> in order, skips discarded ones,
    /// stops at a busy one; the consumer position moves past each record after its call. Returns the records handed
    /// over, or a negative errno: -EBUSY (another drain is running), -EINVAL/-E2BIG (a malformed record).
    /// </summary>
    public long Drain<THandler>(ref THandler handler) where THandler : IRecordHandler, allows ref struct
    {
        if (Interlocked.CompareExchange(ref _userBusy, 1, 0) != 0)
        {
            return -Errno.EBUSY;
        }

        long samples = 0, discarded = 0;
        try
        {
            for (; samples < MaxUserSamples; samples++)
            {
                ulong prod = Volatile.Read(ref *_producerPos);
                if (prod % 8 != 0)
                {
                    return -Errno.EINVAL;
                }

                ulong cons = Volatile.Read(ref *_consumerPos);
                if (cons >= prod)
                {
                    break;
                }

                byte* header = _data + (cons & _mask);
                uint len = Volatile.Read(ref *(uint*)header);
                uint size = len & ~(RingLayout.BusyBit | RingLayout.DiscardBit);
                ulong total = RingLayout.Total(size);
                if (total > prod - cons)
                {
                    return -Errno.EINVAL;
                }

                if (total > _mask + 1 || size > RingLayout.MaxDynptrSize)
                {
                    return -Errno.E2BIG;
                }

                if ((len & RingLayout.DiscardBit) != 0)
                {
                    Volatile.Write(ref *_consumerPos, cons + total);
                    discarded++;
                    continue;
                }

                if ((len & RingLayout.BusyBit) != 0)
                {
                    break;
                }

                try
                {
                    handler.OnRecord(new ReadOnlySpan<byte>(header + RingLayout.HeaderSize, (int)size));
                }
                finally
                {
                    Volatile.Write(ref *_consumerPos, cons + total);
                }
            }

            return samples - discarded;
        }
        finally
        {
            Volatile.Write(ref _userBusy, 0);
        }
    }

    /// <summary>Whether this is a ringbuf (kernel producer) rather than a user_ringbuf.</summary>
    public bool KernelProducer => _kernelProducer;

    /// <summary>Holds the memory for a caller that writes into it (an open reservation); 0 or EBADF.</summary>
    public bool TryLease()
    {
        bool added = false;
        try
        {
            _memory.DangerousAddRef(ref added);
            return added;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Lets go of a <see cref="TryLease"/>.</summary>
    public void Unlease() => _memory.DangerousRelease();

    protected override int LookupElem(ReadOnlySpan<byte> key, Span<byte> value) => Errno.ENOTSUPP;

    protected override int UpdateElem(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags) => Errno.ENOTSUPP;

    protected override int DeleteElem(ReadOnlySpan<byte> key) => Errno.ENOTSUPP;

    protected override int GetNextKeyElem(ReadOnlySpan<byte> key, Span<byte> nextKey) => Errno.ENOTSUPP;

    protected override int LookupBatchOp(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => Errno.ENOTSUPP;

    protected override int AddElem(ReadOnlySpan<byte> key, ulong delta) => Errno.ENOTSUPP;

    protected override void ReleaseInnerMaps()
    {
    }

    /// <summary>The last reference is gone: views handed out keep the memory until they are released.</summary>
    protected override void Free()
    {
        _memory.Dispose();
        _wait.Dispose();
    }
}
