using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Interop;
using BpfMaps.Kernel;

namespace BpfMaps.Events;

/// <summary>
/// The reader of a BPF_MAP_TYPE_PERF_EVENT_ARRAY (Linux 4.4; libbpf's perf_buffer): one perf event per CPU
/// (PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT, PERF_SAMPLE_RAW), each put into the map at its CPU's slot, each
/// with a ring mapped into the process. A BPF program's bpf_perf_event_output writes a sample into the ring of the
/// CPU it runs on; this reads the samples from memory with no syscall and no copy per record, and hands each over
/// as a span. When a ring is full the kernel drops the sample, counts it, and reports the count in a
/// PERF_RECORD_LOST record (<see cref="LostCount"/>, <see cref="IPerfRecordHandler.OnLost"/>).
/// </summary>
/// <remarks>
/// <para>Each ring is a metadata page (<c>struct perf_event_mmap_page</c>) and 2^n data pages. The reader reads
/// <c>data_head</c> with acquire semantics, walks the records up to it, and publishes <c>data_tail</c> with release
/// semantics after each record's handler returns, so the kernel never reuses space a handler is reading. A record
/// that wraps around the end of the ring is copied, once, into a pooled buffer and handed over from there.</para>
/// <para>The map slots are set through a map descriptor of the reader's own (BPF_MAP_GET_FD_BY_ID), so the kernel
/// takes them out of the map when the reader is disposed, and only those (perf event array slots belong to the
/// descriptor that set them); without CAP_SYS_ADMIN it falls back to a duplicate of the map's descriptor and deletes
/// its slots on <see cref="Dispose"/>, as libbpf does. A perf event array has one reader per slot: a second
/// reader (another process, bpftool) that sets the same slots takes them over.</para>
/// <para>One thread consumes at a time; <see cref="Dispose"/> may race a consumer on another thread (the memory
/// stays mapped until it is done) and makes a blocked poll return. Perf event arrays exist only in the kernel: the
/// in-process engine has none (see docs/architecture.md).</para>
/// </remarks>
public sealed unsafe class PerfBuffer : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;

    // perf_event_header.size is a u16: no record is longer.
    private const int MaxRecord = ushort.MaxValue;

    private readonly Ring[] _rings;
    private readonly PerfBufferSlot[] _slots;
    private readonly BpfFd _mapFile;
    private readonly bool _deleteSlotsOnDispose;
    private readonly MemoryMapping _memory;
    private readonly EpollHandle _epoll;
    private readonly EventFdHandle _wake;
    private readonly int _rawOffset;
    private byte[]? _scratch;
    private int _consuming;
    private int _walking = -1;
    private int _lostReports;
    private int _goneRing = -1;
    private bool _corrupt;
    private volatile bool _disposed;

    private PerfBuffer(string name, Ring[] rings, BpfFd mapFile, bool deleteSlots, MemoryMapping memory, EpollHandle epoll, EventFdHandle wake, int ringSize, bool timestamps)
    {
        Name = name;
        _rings = rings;
        _slots = rings.Select(r => new PerfBufferSlot(r.Cpu, r.Index)).ToArray();
        _mapFile = mapFile;
        _deleteSlotsOnDispose = deleteSlots;
        _memory = memory;
        _epoll = epoll;
        _wake = wake;
        RingSize = ringSize;
        Timestamps = timestamps;
        _rawOffset = sizeof(PerfEventHeader) + (timestamps ? sizeof(ulong) : 0);
    }

    /// <summary>The map's name, for messages.</summary>
    public string Name { get; }

    /// <summary>The rings, in the order their records are read: each one's CPU and perf event array slot.</summary>
    public IReadOnlyList<PerfBufferSlot> Slots => _slots;

    /// <summary>Bytes of data in each ring (<see cref="PerfBufferOptions.PagesPerCpu"/> pages).</summary>
    public int RingSize { get; }

    /// <summary>Whether samples carry the kernel's timestamp (<see cref="PerfBufferOptions.Timestamps"/>).</summary>
    public bool Timestamps { get; }

    /// <summary>Samples the kernel reported lost (PERF_RECORD_LOST) on all rings, as far as they have been read.</summary>
    public ulong LostCount
    {
        get
        {
            ulong total = 0;
            foreach (Ring r in _rings)
            {
                total += Volatile.Read(ref r.Lost);
            }

            return total;
        }
    }

    /// <summary>Bytes written into the rings and not yet read (records of any kind, headers included).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public long AvailableBytes
    {
        get
        {
            bool added = false;
            try
            {
                _memory.DangerousAddRef(ref added);
                long total = 0;
                foreach (Ring r in _rings)
                {
                    total += (long)(Volatile.Read(ref r.Page->data_head) - Volatile.Read(ref r.Page->data_tail));
                }

                return total;
            }
            finally
            {
                if (added)
                {
                    _memory.DangerousRelease();
                }
            }
        }
    }

    /// <summary>Samples the kernel reported lost on one ring, as far as its reports have been read.</summary>
    /// <param name="ring">The ring's position in <see cref="Slots"/>.</param>
    /// <returns>The count.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No such ring.</exception>
    public ulong GetLostCount(int ring)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ring);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(ring, _rings.Length);
        return Volatile.Read(ref _rings[ring].Lost);
    }

    /// <summary>
    /// Opens a ring on every chosen CPU (perf_event_open, Linux 4.4; mmap of 1 + <see cref="PerfBufferOptions.PagesPerCpu"/>
    /// pages), puts each event into the map at its slot (BPF_MAP_UPDATE_ELEM) and enables it (PERF_EVENT_IOC_ENABLE).
    /// The reader keeps its own descriptor of the map: <paramref name="map"/> may be disposed first.
    /// </summary>
    /// <param name="map">A BPF_MAP_TYPE_PERF_EVENT_ARRAY map in the kernel.</param>
    /// <param name="options">Ring size, wake-ups, timestamps and slots; null for <see cref="PerfBufferOptions.Default"/>.</param>
    /// <returns>The reader; dispose it to take its events out of the map and unmap the rings.</returns>
    /// <exception cref="ArgumentException">Not a perf event array, not a kernel map, options out of range (the message
    /// names the value and the range), a CPU that is not possible or a slot beyond <c>max_entries</c>, two rings for one slot.</exception>
    /// <exception cref="BpfException">perf_event_open (EACCES/EPERM without CAP_PERFMON; ENODEV for an offline CPU), mmap
    /// (EPERM past perf_event_mlock_kb), BPF_MAP_UPDATE_ELEM, epoll or eventfd failed.</exception>
    public static PerfBuffer Open(BpfMap map, PerfBufferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        PerfBufferOptions o = options ?? PerfBufferOptions.Default;
        if (map.Type != MapType.PerfEventArray)
        {
            throw new ArgumentException(map.Type == MapType.RingBuf
                ? $"{map} is a ring buffer: read it with RingBuffer"
                : $"{map} is not a perf event array: PerfBuffer reads BPF_MAP_TYPE_PERF_EVENT_ARRAY maps (Linux 4.4), and this one is {map.Type.KernelName()}", nameof(map));
        }

        if (DelegatingMapBackend.Innermost(map.Backend) is not KernelMapBackend kernel)
        {
            throw new ArgumentException($"{map}: perf event arrays hold kernel perf events, so only a kernel map can be read with PerfBuffer", nameof(map));
        }

        int page = RingLayout.PageSize;
        CheckOptions(o, page);
        PerfBufferSlot[] slots = o.Slots is null ? DefaultSlots(map) : CheckSlots(o.Slots, map);
        int ringSize = o.PagesPerCpu * page;
        long ringBytes = (long)page + ringSize;

        var attr = new PerfEventAttr
        {
            type = PerfEvent.TypeSoftware,
            config = PerfEvent.CountSwBpfOutput,
            sample_period = 1,
            sample_type = PerfEvent.SampleRaw | (o.Timestamps ? PerfEvent.SampleTime : 0),
            flags = PerfEvent.FlagDisabled | (o.WakeupWatermark > 0 ? PerfEvent.FlagWatermark : 0),
        };
        if (o.WakeupWatermark > 0)
        {
            attr.wakeup_watermark = (uint)o.WakeupWatermark;
        }
        else
        {
            attr.wakeup_events = (uint)o.WakeupEvents;
        }

        BpfFd? file = null;
        bool ownFile = false;
        MemoryMapping? memory = null;
        EpollHandle? epoll = null;
        EventFdHandle? wake = null;
        var rings = new List<Ring>(slots.Length);
        try
        {
            file = OpenMapFile(map, kernel, out ownFile);
            Check(EpollSyscall.EpollCreate(out epoll), KernelCall.EpollCreate, map, null);
            Check(EpollSyscall.EventFdCreate(out wake), KernelCall.EventFd, map, null);
            Check(EpollSyscall.EpollAdd(epoll, wake, Interop.Epoll.In, WakeToken), KernelCall.EpollCtl, map, null);
            Check(MemoryMapping.Reserve((nuint)(ringBytes * slots.Length), out memory), KernelCall.Mmap, map, "address space for the rings");
            for (int i = 0; i < slots.Length; i++)
            {
                PerfBufferSlot slot = slots[i];
                int err = PerfEventSyscall.PerfEventOpen(ref attr, slot.Cpu, out PerfEventHandle ev);
                if (err != 0)
                {
                    ev.Dispose();
                    throw OpenFailed(err, map, slot);
                }

                var ring = new Ring(ev, slot.Cpu, slot.Index);
                rings.Add(ring);
                nuint at = (nuint)(ringBytes * i);
                err = memory!.MapFixed(at, (nuint)ringBytes, ev, 0);
                if (err != 0)
                {
                    throw new BpfException(err, KernelCall.Mmap, $"perf buffer '{map.Name}': the ring of CPU {slot.Cpu} ({ringBytes} bytes)"
                        + (err == Errno.EPERM ? "; perf rings count against the locked-memory limit (ulimit -l, /proc/sys/kernel/perf_event_mlock_kb): use fewer pages" : ""));
                }

                ring.Attach(memory.Address + at, page, ringSize);
                Check(EpollSyscall.EpollAdd(epoll, ev, Interop.Epoll.In, (ulong)i), KernelCall.EpollCtl, map, null);
                int set = SetSlot(file, slot.Index, ev);
                if (set != 0)
                {
                    throw new BpfException(set, BpfCommand.BPF_MAP_UPDATE_ELEM, $"perf buffer '{map.Name}': slot {slot.Index} (CPU {slot.Cpu})");
                }

                Check(PerfEventSyscall.Enable(ev), KernelCall.PerfEventIoctl, map, $"PERF_EVENT_IOC_ENABLE, CPU {slot.Cpu}");
            }

            bool deleteSlots = !ownFile || (map.Info.Flags & MapFlags.PreserveElems) != 0;
            return new PerfBuffer(map.Name, [.. rings], file, deleteSlots, memory!, epoll, wake, ringSize, o.Timestamps);
        }
        catch
        {
            if (file is not null)
            {
                foreach (Ring r in rings)
                {
                    _ = BpfSyscall.MapDeleteElem(file, MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in r.Index)));
                }
            }

            foreach (Ring r in rings)
            {
                r.Fd.Dispose();
            }

            file?.Dispose();
            memory?.Dispose();
            epoll?.Dispose();
            wake?.Dispose();
            throw;
        }
    }

    /// <summary>Hands every sample in the rings to <paramref name="handler"/>, without waiting (libbpf's perf_buffer__consume).</summary>
    /// <param name="handler">Called once per sample with its data; valid for the call only.</param>
    /// <returns>Samples handed over. Lost reports are counted in <see cref="LostCount"/>.</returns>
    /// <exception cref="InvalidOperationException">Another thread is consuming.</exception>
    /// <exception cref="EventSourceGoneException">A ring's records are corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public int Consume(RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var h = new DelegateRecordHandler(handler);
        return Consume(ref h);
    }

    /// <summary>Hands every sample's data to <paramref name="handler"/>, called directly (no delegate, no allocation); without waiting.</summary>
    /// <typeparam name="THandler">The handler type; the same handlers <see cref="RingBuffer"/> takes.</typeparam>
    /// <param name="handler">Called once per sample; its state is updated in place.</param>
    /// <returns>Samples handed over. Lost reports are counted in <see cref="LostCount"/>.</returns>
    /// <exception cref="InvalidOperationException">Another thread is consuming.</exception>
    /// <exception cref="EventSourceGoneException">A ring's records are corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public int Consume<THandler>(ref THandler handler) where THandler : IRecordHandler, allows ref struct
    {
        var adapter = new RecordHandlerAdapter<THandler> { Inner = handler };
        try
        {
            int calls = ConsumeCore(ref adapter, int.MaxValue);
            return calls - _lostReports;
        }
        finally
        {
            handler = adapter.Inner;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for samples (epoll on the rings' events), then hands every sample to
    /// <paramref name="handler"/> (libbpf's perf_buffer__poll). Returns at once when samples are already there.
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit, zero not to wait.</param>
    /// <param name="handler">Called once per sample.</param>
    /// <returns>Samples handed over: 0 on timeout or <see cref="Wake"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than infinite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is consuming.</exception>
    /// <exception cref="EventSourceGoneException">The kernel hung up a ring's event (the samples before it were handed over), or a ring's records are corrupt.</exception>
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
    /// <param name="handler">Called once per sample.</param>
    /// <returns>Samples handed over.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than infinite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is consuming.</exception>
    /// <exception cref="EventSourceGoneException">The kernel hung up a ring's event, or a ring's records are corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">epoll_wait failed.</exception>
    public int Poll<THandler>(TimeSpan timeout, ref THandler handler) where THandler : IRecordHandler, allows ref struct
    {
        var adapter = new RecordHandlerAdapter<THandler> { Inner = handler };
        try
        {
            return PollCore(EventWait.ToMilliseconds(timeout), ref adapter, samplesOnly: true);
        }
        finally
        {
            handler = adapter.Inner;
        }
    }

    /// <summary>
    /// Hands every record in the rings to <paramref name="handler"/>, without waiting: samples with their CPU, slot and
    /// timestamp, and the kernel's lost reports.
    /// </summary>
    /// <typeparam name="THandler">The handler type; a struct or ref struct is called directly.</typeparam>
    /// <param name="handler">Called once per record.</param>
    /// <returns>Records handed over (samples and lost reports).</returns>
    /// <exception cref="InvalidOperationException">Another thread is consuming.</exception>
    /// <exception cref="EventSourceGoneException">A ring's records are corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public int ConsumeRecords<THandler>(ref THandler handler) where THandler : IPerfRecordHandler, allows ref struct
        => ConsumeCore(ref handler, int.MaxValue);

    /// <summary>Like <see cref="ConsumeRecords{THandler}(ref THandler)"/>, waiting up to <paramref name="timeout"/> for records first.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit, zero not to wait.</param>
    /// <param name="handler">Called once per record.</param>
    /// <returns>Records handed over: 0 on timeout or <see cref="Wake"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than infinite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is consuming.</exception>
    /// <exception cref="EventSourceGoneException">The kernel hung up a ring's event, or a ring's records are corrupt.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">epoll_wait failed.</exception>
    public int PollRecords<THandler>(TimeSpan timeout, ref THandler handler) where THandler : IPerfRecordHandler, allows ref struct
        => PollCore(EventWait.ToMilliseconds(timeout), ref handler, samplesOnly: false);

    /// <summary>
    /// Pauses every ring's output (PERF_EVENT_IOC_PAUSE_OUTPUT, Linux 4.7): while paused, bpf_perf_event_output fails
    /// with ENOSPC and the kernel counts each sample lost; the count arrives as a lost report with the first sample
    /// after <see cref="Resume"/>. Records already in the rings stay readable.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">The ioctl failed.</exception>
    public void Pause() => ForEachRing(r => PerfEventSyscall.PauseOutput(r.Fd, true), KernelCall.PerfEventIoctl, "PERF_EVENT_IOC_PAUSE_OUTPUT");

    /// <summary>Resumes output after <see cref="Pause"/> (PERF_EVENT_IOC_PAUSE_OUTPUT 0).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">The ioctl failed.</exception>
    public void Resume() => ForEachRing(r => PerfEventSyscall.PauseOutput(r.Fd, false), KernelCall.PerfEventIoctl, "PERF_EVENT_IOC_PAUSE_OUTPUT");

    /// <summary>
    /// Disables every ring's event (PERF_EVENT_IOC_DISABLE): bpf_perf_event_output then fails with EOPNOTSUPP and
    /// nothing is counted lost, unlike <see cref="Pause"/>. <see cref="Enable"/> turns them back on.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">The ioctl failed.</exception>
    public void Disable() => ForEachRing(r => PerfEventSyscall.Disable(r.Fd), KernelCall.PerfEventIoctl, "PERF_EVENT_IOC_DISABLE");

    /// <summary>Enables every ring's event again (PERF_EVENT_IOC_ENABLE).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    /// <exception cref="BpfException">The ioctl failed.</exception>
    public void Enable() => ForEachRing(r => PerfEventSyscall.Enable(r.Fd), KernelCall.PerfEventIoctl, "PERF_EVENT_IOC_ENABLE");

    /// <summary>Makes a wait in progress (or the next one) return at once, with no records.</summary>
    public void Wake() => _ = EpollSyscall.EventFdSignal(_wake);

    /// <summary>
    /// Takes the reader's events out of the map (the kernel does it when the reader's own map descriptor closes; with a
    /// shared descriptor or BPF_F_PRESERVE_ELEMS, by BPF_MAP_DELETE_ELEM), disables and closes them, unmaps the rings.
    /// A consumer on another thread finishes first; a blocked wait returns.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Wake();
        if (_deleteSlotsOnDispose)
        {
            foreach (Ring r in _rings)
            {
                _ = BpfSyscall.MapDeleteElem(_mapFile, MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in r.Index)));
            }
        }

        _mapFile.Dispose();
        foreach (Ring r in _rings)
        {
            _ = PerfEventSyscall.Disable(r.Fd);
            r.Fd.Dispose();
        }

        _epoll.Dispose();
        _wake.Dispose();
        _memory.Dispose();
        if (Volatile.Read(ref _consuming) == 0)
        {
            ReturnScratch();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"perf buffer '{Name}' ({_rings.Length} ring{(_rings.Length == 1 ? "" : "s")} of {RingSize} bytes)";

    /// <summary>The epoll instance over the rings' events, which an <see cref="EventPoller"/> waits on in turn.</summary>
    internal SafeHandle PollHandle => _epoll;

    /// <summary>Whether any ring holds records not yet read.</summary>
    internal bool HasData
    {
        get
        {
            bool added = false;
            try
            {
                _memory.DangerousAddRef(ref added);
                foreach (Ring r in _rings)
                {
                    if (Volatile.Read(ref r.Page->data_head) != Volatile.Read(ref r.Page->data_tail))
                    {
                        return true;
                    }
                }

                return false;
            }
            finally
            {
                if (added)
                {
                    _memory.DangerousRelease();
                }
            }
        }
    }

    /// <summary>
    /// After an outer epoll reported this buffer's epoll ready: takes its events (a hung-up ring is noted, a
    /// <see cref="Wake"/> is reset), without waiting. A perf event's readiness is cleared by being polled, so what
    /// decides whether there are records is <see cref="HasData"/>, not this.
    /// </summary>
    internal void AfterWake() => _ = WaitCore(0);

    /// <summary>Whether a ring was hung up and not yet reported by <see cref="ThrowIfGone"/>.</summary>
    internal bool HasGoneRing => Volatile.Read(ref _goneRing) >= 0;

    /// <summary>Lost reports among the records of the last consume call.</summary>
    internal int LastLostReports => _lostReports;

    /// <summary>Throws for a ring the kernel hung up since the last call.</summary>
    internal void ThrowIfGone()
    {
        int r = Interlocked.Exchange(ref _goneRing, -1);
        if (r >= 0)
        {
            throw new EventSourceGoneException(ToString(), _rings[r].Cpu,
                $"{this}: the kernel hung up the perf event of CPU {_rings[r].Cpu} (slot {_rings[r].Index}); its CPU or its PMU went away, and no more samples will arrive in that ring");
        }
    }

    /// <summary>The consumer loop over every ring, with the handler-that-throws bookkeeping around it.</summary>
    internal int ConsumeCore<THandler>(ref THandler handler, int limit) where THandler : IPerfRecordHandler, allows ref struct
    {
        if (Interlocked.Exchange(ref _consuming, 1) != 0)
        {
            ThrowConcurrentConsumer();
        }

        bool added = false;
        _lostReports = 0;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _memory.DangerousAddRef(ref added);
            int total = 0;
            for (int i = 0; i < _rings.Length && total < limit; i++)
            {
                _walking = i;
                int n = Walk(_rings[i], ref handler, limit - total);
                if (n < 0)
                {
                    ThrowCorrupt(_rings[i]);
                }

                total += n;
            }

            _walking = -1;
            return total;
        }
        catch when (added && !_corrupt && _walking >= 0)
        {
            // A handler threw: its record still counts as read. Walk publishes the tail after each record, so the
            // record at the tail of the ring being walked is the one that threw.
            SkipRecordAtTail(_rings[_walking]);
            throw;
        }
        finally
        {
            _walking = -1;
            if (added)
            {
                _memory.DangerousRelease();
            }

            Volatile.Write(ref _consuming, 0);
            if (_disposed)
            {
                ReturnScratch();
            }
        }
    }

    // One ring's records. The common one, a sample that does not wrap, goes through WalkSamples; WalkOne takes
    // whatever that loop stops at (a wrapped sample, a lost report, another type), one record at a time.
    private int Walk<THandler>(Ring ring, ref THandler handler, int limit) where THandler : IPerfRecordHandler, allows ref struct
    {
        int n = 0;
        while (true)
        {
            int samples = WalkSamples(ring.Page, ring.Data, ring.Mask, ring.Cpu, ring.Index, _rawOffset, ref handler, limit - n);
            if (samples < 0)
            {
                return -1;
            }

            n += samples;
            if (n >= limit)
            {
                return n;
            }

            switch (WalkOne(ring, ref handler))
            {
                case OneCorrupt: return -1;
                case OneEmpty: return n;
                case OneHandled: n++; break;
            }

            if (n >= limit)
            {
                return n;
            }
        }
    }

    private const int OneCorrupt = -1, OneEmpty = 0, OneHandled = 1, OneSkipped = 2;

    // The hot loop: fully optimized from the first call, with no calls but the handler's and no exception handling,
    // so the positions stay in registers (see RingBuffer.Walk). Returns the samples handed over, -1 for a corrupt
    // record, and stops at an empty ring, at the budget, or before a record it leaves to WalkOne.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int WalkSamples<THandler>(PerfEventMmapPage* page, byte* data, ulong mask, int cpu, int index, int rawOffset, ref THandler handler, int budget)
        where THandler : IPerfRecordHandler, allows ref struct
    {
        ulong tail = page->data_tail;
        int n = 0;
        while (true)
        {
            // Pairs with the kernel's write barrier before it stores data_head: the records up to it are written.
            ulong head = Volatile.Read(ref page->data_head);
            if (head == tail)
            {
                return n;
            }

            if (head - tail > mask + 1)
            {
                return -1;
            }

            do
            {
                // Records are 8-byte aligned and the ring's size is a multiple of the page size, so a header never wraps.
                ulong at = tail & mask;
                PerfEventHeader* header = (PerfEventHeader*)(data + at);
                uint size = header->size;
                if (header->type != PerfSample.RecordType || at + size > mask + 1)
                {
                    return n;
                }

                if (size < rawOffset + sizeof(uint) || size > head - tail)
                {
                    return -1;
                }

                byte* record = (byte*)header;
                uint raw = Unsafe.ReadUnaligned<uint>(record + rawOffset);
                if (raw > size - rawOffset - sizeof(uint))
                {
                    return -1;
                }

                ulong time = rawOffset > sizeof(PerfEventHeader) ? Unsafe.ReadUnaligned<ulong>(record + sizeof(PerfEventHeader)) : 0;
                n++;
                handler.OnSample(new PerfSample(cpu, index, time, new ReadOnlySpan<byte>(record + rawOffset + sizeof(uint), (int)raw)));

                // Pairs with the kernel's read of data_tail before it writes: the space is free once this is seen.
                tail += size;
                Volatile.Write(ref page->data_tail, tail);
                if (n == budget)
                {
                    return n;
                }
            }
            while (tail != head);
        }
    }

    // The record at a ring's tail, whatever it is: a sample that wraps (reassembled), a lost report, or a type that is
    // skipped (none are asked for). Publishes the tail after the handler, as WalkSamples does.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int WalkOne<THandler>(Ring ring, ref THandler handler) where THandler : IPerfRecordHandler, allows ref struct
    {
        PerfEventMmapPage* page = ring.Page;
        ulong mask = ring.Mask;
        ulong tail = page->data_tail;
        ulong head = Volatile.Read(ref page->data_head);
        if (head == tail)
        {
            return OneEmpty;
        }

        ulong at = tail & mask;
        PerfEventHeader* header = (PerfEventHeader*)(ring.Data + at);
        uint size = header->size;
        if (head - tail > mask + 1 || size < sizeof(PerfEventHeader) || size > head - tail)
        {
            return OneCorrupt;
        }

        ref byte record = ref *(byte*)header;
        if (at + size > mask + 1)
        {
            record = ref Reassemble(ring.Data, at, size, mask);
        }

        int result = OneSkipped;
        uint type = header->type;
        if (type == PerfSample.RecordType)
        {
            int rawOffset = _rawOffset;
            if (size < rawOffset + sizeof(uint))
            {
                return OneCorrupt;
            }

            uint raw = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref record, rawOffset));
            if (raw > size - rawOffset - sizeof(uint))
            {
                return OneCorrupt;
            }

            ulong time = rawOffset > sizeof(PerfEventHeader) ? Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref record, sizeof(PerfEventHeader))) : 0;
            handler.OnSample(new PerfSample(ring.Cpu, ring.Index, time, MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref record, rawOffset + sizeof(uint)), (int)raw)));
            result = OneHandled;
        }
        else if (type == PerfLost.RecordType && size >= sizeof(PerfEventHeader) + 2 * sizeof(ulong))
        {
            ulong id = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref record, sizeof(PerfEventHeader)));
            ulong lost = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref record, sizeof(PerfEventHeader) + sizeof(ulong)));
            ring.Lost += lost;
            _lostReports++;
            handler.OnLost(new PerfLost(ring.Cpu, ring.Index, lost, id));
            result = OneHandled;
        }

        Volatile.Write(ref page->data_tail, tail + size);
        return result;
    }

    // A record that runs past the ring's end: copied, both parts, into one pooled buffer kept for the reader's life.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ref byte Reassemble(byte* data, ulong at, uint size, ulong mask)
    {
        byte[] scratch = _scratch ??= ArrayPool<byte>.Shared.Rent(MaxRecord);
        int first = (int)(mask + 1 - at);
        new ReadOnlySpan<byte>(data + at, first).CopyTo(scratch);
        new ReadOnlySpan<byte>(data, (int)size - first).CopyTo(scratch.AsSpan(first));
        return ref MemoryMarshal.GetArrayDataReference(scratch);
    }

    private int PollCore<THandler>(int ms, ref THandler handler, bool samplesOnly) where THandler : IPerfRecordHandler, allows ref struct
    {
        int n = Count(ConsumeCore(ref handler, int.MaxValue), samplesOnly);
        if (n > 0 || ms == 0)
        {
            ThrowIfGone();
            return n;
        }

        long start = Stopwatch.GetTimestamp();
        int left = ms;
        while (true)
        {
            bool ready = Wait(left);
            n = Count(ConsumeCore(ref handler, int.MaxValue), samplesOnly);
            ThrowIfGone();
            if (n > 0 || !ready)
            {
                return n;
            }

            // Woken for records an earlier call read already (a perf event's readiness is reported once per wake-up):
            // wait for what is left of the timeout.
            if (ms > 0)
            {
                left = ms - (int)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (left <= 0)
                {
                    return 0;
                }
            }
        }
    }

    private int Count(int calls, bool samplesOnly) => samplesOnly ? calls - _lostReports : calls;

    /// <summary>Blocks until a ring reports records, <see cref="Wake"/> is called, or the timeout passes; true when there may be records.</summary>
    private bool Wait(int timeoutMs) => HasData || WaitCore(timeoutMs);

    private bool WaitCore(int timeoutMs)
    {
        Span<ulong> ready = stackalloc ulong[EpollSyscall.MaxEvents];
        Span<uint> events = stackalloc uint[EpollSyscall.MaxEvents];
        int err = EventWait.Wait(_epoll, _wake, ready, events, timeoutMs, out int count);
        if (err == Errno.EBADF && _disposed)
        {
            return false;
        }

        if (err != 0)
        {
            throw new BpfException(err, KernelCall.EpollWait, $"waiting on {this}");
        }

        bool data = false;
        for (int i = 0; i < count; i++)
        {
            if (ready[i] == WakeToken)
            {
                _ = EpollSyscall.EventFdReset(_wake);
            }
            else if (ready[i] < (ulong)_rings.Length)
            {
                data = true;
                if ((events[i] & (Interop.Epoll.Hup | Interop.Epoll.Err)) != 0)
                {
                    MarkGone((int)ready[i]);
                }
            }
        }

        return data;
    }

    // A hung-up event stays ready for epoll: it is taken out of the set so waits do not spin on it.
    private void MarkGone(int ring)
    {
        Ring r = _rings[ring];
        if (!r.Gone)
        {
            r.Gone = true;
            _ = EpollSyscall.EpollDelete(_epoll, r.Fd);
            Volatile.Write(ref _goneRing, ring);
        }
    }

    private void SkipRecordAtTail(Ring ring)
    {
        ulong tail = ring.Page->data_tail;
        ulong head = Volatile.Read(ref ring.Page->data_head);
        uint size = ((PerfEventHeader*)(ring.Data + (tail & ring.Mask)))->size;
        if (tail != head && size >= sizeof(PerfEventHeader) && size <= head - tail)
        {
            Volatile.Write(ref ring.Page->data_tail, tail + size);
        }
    }

    private void ForEachRing(Func<Ring, int> call, KernelCall kind, string request)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (Ring r in _rings)
        {
            int err = call(r);
            ObjectDisposedException.ThrowIf(err == Errno.EBADF && _disposed, this);

            if (err != 0)
            {
                throw new BpfException(err, kind, $"{request} on {this}: CPU {r.Cpu}");
            }
        }
    }

    private void ReturnScratch()
    {
        if (Interlocked.Exchange(ref _scratch, null) is { } s)
        {
            ArrayPool<byte>.Shared.Return(s);
        }
    }

    private static void CheckOptions(PerfBufferOptions o, int page)
    {
        if (o.PagesPerCpu <= 0 || (o.PagesPerCpu & (o.PagesPerCpu - 1)) != 0 || o.PagesPerCpu > (1 << 30) / page)
        {
            throw new ArgumentException($"PagesPerCpu {o.PagesPerCpu}: a power of two from 1 to {(1 << 30) / page} ({page}-byte pages)", nameof(o));
        }

        if (o.WakeupWatermark < 0 || o.WakeupWatermark > o.PagesPerCpu * page)
        {
            throw new ArgumentException($"WakeupWatermark {o.WakeupWatermark}: 0 (wake by WakeupEvents) up to the ring's {o.PagesPerCpu * page} bytes", nameof(o));
        }

        if (o.WakeupWatermark == 0 && o.WakeupEvents < 1)
        {
            throw new ArgumentException($"WakeupEvents {o.WakeupEvents}: at least 1 (or set WakeupWatermark)", nameof(o));
        }
    }

    // libbpf's default: every possible CPU that is online, at the slot of its number, as far as max_entries reaches.
    private static PerfBufferSlot[] DefaultSlots(BpfMap map)
    {
        bool[] online = PossibleCpus.ReadOnlineMask();
        var slots = new List<PerfBufferSlot>();
        for (int cpu = 0; cpu < online.Length && cpu < map.MaxEntries; cpu++)
        {
            if (online[cpu])
            {
                slots.Add(new PerfBufferSlot(cpu, cpu));
            }
        }

        if (slots.Count == 0)
        {
            throw new ArgumentException($"{map}: no online CPU has a slot in this map (max_entries {map.MaxEntries})", nameof(map));
        }

        return [.. slots];
    }

    private static PerfBufferSlot[] CheckSlots(IReadOnlyList<PerfBufferSlot> slots, BpfMap map)
    {
        if (slots.Count == 0)
        {
            throw new ArgumentException("Slots is empty: name at least one (CPU, index), or leave it null for every online CPU", nameof(slots));
        }

        var used = new HashSet<int>();
        foreach (PerfBufferSlot s in slots)
        {
            if ((uint)s.Cpu >= (uint)PossibleCpus.Count)
            {
                throw new ArgumentException($"CPU {s.Cpu} is out of range: this machine has {PossibleCpus.Count} possible CPUs (0 to {PossibleCpus.Count - 1})", nameof(slots));
            }

            if ((uint)s.Index >= (uint)map.MaxEntries)
            {
                throw new ArgumentException($"index {s.Index} is out of range: {map} has slots 0 to {map.MaxEntries - 1}", nameof(slots));
            }

            if (!used.Add(s.Index))
            {
                throw new ArgumentException($"index {s.Index} is named twice: a slot holds one event", nameof(slots));
            }
        }

        return [.. slots];
    }

    // A map descriptor of the reader's own, so that its slots leave the map with it (perf_event_fd_array_release);
    // without the privilege to open one by id, a duplicate of the map's.
    private static BpfFd OpenMapFile(BpfMap map, KernelMapBackend kernel, out bool own)
    {
        int err = BpfSyscall.MapGetFdById(map.Id, 0, out BpfFd file);
        if (err == 0)
        {
            own = true;
            return file;
        }

        file.Dispose();
        own = false;
        Check(((IMapMemoryBackend)kernel).OpenPollHandle(out SafeHandle? copy), KernelCall.Dup, map, "its descriptor");
        return (BpfFd)copy!;
    }

    private static int SetSlot(BpfFd file, int index, PerfEventHandle ev)
    {
        if (!FdLease.TryAcquire(ev, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            return BpfSyscall.MapUpdateElem(file, MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in index)), MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in fd)), 0);
        }
    }

    private static BpfException OpenFailed(int err, BpfMap map, PerfBufferSlot slot)
    {
        string hint = err switch
        {
            Errno.ENODEV => $"CPU {slot.Cpu} is offline",
            Errno.EACCES or Errno.EPERM => "perf events need CAP_PERFMON or CAP_SYS_ADMIN (or a lower kernel.perf_event_paranoid)",
            Errno.ENOENT or Errno.EINVAL or Errno.EOPNOTSUPP => "this kernel has no PERF_COUNT_SW_BPF_OUTPUT events (Linux 4.4), or refused the attributes",
            Errno.EMFILE => "too many open files (ulimit -n)",
            _ => $"CPU {slot.Cpu}",
        };
        return new BpfException(err, KernelCall.PerfEventOpen, $"perf buffer '{map.Name}', CPU {slot.Cpu}: {hint}");
    }

    private static void Check(int err, KernelCall call, BpfMap map, string? what)
    {
        if (err != 0)
        {
            throw new BpfException(err, call, what is null ? $"perf buffer '{map.Name}'" : $"perf buffer '{map.Name}': {what}");
        }
    }

    [DoesNotReturn]
    private static void ThrowConcurrentConsumer()
        => throw new InvalidOperationException("another thread is consuming this perf buffer (or a handler called back into it); a perf buffer has one consumer");

    [DoesNotReturn]
    private void ThrowCorrupt(Ring ring)
    {
        _corrupt = true;
        ulong tail = ring.Page->data_tail, head = Volatile.Read(ref ring.Page->data_head);
        PerfEventHeader h = *(PerfEventHeader*)(ring.Data + (tail & ring.Mask));
        throw new EventSourceGoneException(ToString(), ring.Cpu, $"{this}: the ring of CPU {ring.Cpu} is corrupt: at tail {tail} (head {head}) a record of type {h.type} claims {h.size} bytes");
    }

    /// <summary>One CPU's ring: its event and where its pages are mapped.</summary>
    private sealed class Ring(PerfEventHandle fd, int cpu, int index)
    {
        public readonly PerfEventHandle Fd = fd;
        public readonly int Cpu = cpu;
        public readonly int Index = index;
        public PerfEventMmapPage* Page;
        public byte* Data;
        public ulong Mask;
        public ulong Lost;
        public bool Gone;

        public void Attach(byte* at, int page, int ringSize)
        {
            Page = (PerfEventMmapPage*)at;

            // data_offset and data_size (Linux 4.1) say where the data is; before them it was the next page.
            ulong offset = Page->data_offset != 0 ? Page->data_offset : (ulong)page;
            Data = at + offset;
            Mask = (ulong)ringSize - 1;
        }
    }
}
