using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps.Events;

/// <summary>
/// One epoll instance serving several event sources, each with its own handler (as libbpf's ring_buffer__add
/// and ring_buffer__poll): <see cref="Poll"/> waits until any source has records and hands them to that source's
/// handler. Sources are <see cref="RingBuffer"/>s and <see cref="PerfBuffer"/>s, in any mix; the poller does not own them.
/// </summary>
/// <remarks>
/// Polling is for one thread at a time; <see cref="Add(RingBuffer, RecordHandler)"/> may run while another
/// thread polls. A source disposed while still added makes the next poll throw <see cref="ObjectDisposedException"/>.
/// A perf buffer is waited on through its own epoll instance (epoll nests), so its <see cref="PerfBuffer.Wake"/> does
/// not wake the poller: use the poller's <see cref="Wake"/>.
/// </remarks>
public sealed class EventPoller : IDisposable
{
    private const ulong WakeToken = ulong.MaxValue;
    private readonly EpollHandle _epoll;
    private readonly EventFdHandle _wake;
    private readonly Lock _gate = new();
    private Source[] _sources = [];
    private int _polling;
    private volatile bool _disposed;

    /// <summary>Creates an empty poller: an epoll instance and an eventfd for <see cref="Wake"/> (Linux 2.6.27).</summary>
    /// <exception cref="BpfException">epoll_create1 or eventfd failed (EMFILE).</exception>
    public EventPoller()
    {
        int err = EpollSyscall.EpollCreate(out _epoll);
        if (err == 0)
        {
            err = EpollSyscall.EventFdCreate(out _wake);
        }
        else
        {
            _wake = new EventFdHandle();
        }

        if (err == 0)
        {
            err = EpollSyscall.EpollAdd(_epoll, _wake, EpollSyscall.In, WakeToken);
        }

        if (err != 0)
        {
            _epoll.Dispose();
            _wake.Dispose();
            throw new BpfException(err, KernelCall.EpollCreate, "creating the event poller");
        }
    }

    /// <summary>Number of sources added.</summary>
    public int Count => Volatile.Read(ref _sources).Length;

    /// <summary>Adds a ring buffer whose records go to <paramref name="handler"/>.</summary>
    /// <param name="ring">The ring; not owned (dispose it after the poller).</param>
    /// <param name="handler">Called once per record of this ring.</param>
    /// <returns>The source's index, in the order sources were added.</returns>
    /// <exception cref="ArgumentException">The ring was already added.</exception>
    /// <exception cref="ObjectDisposedException">The poller or the ring is disposed.</exception>
    /// <exception cref="BpfException">epoll_ctl failed.</exception>
    public int Add(RingBuffer ring, RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(ring, new DelegateRecordHandler(handler));
    }

    /// <summary>
    /// Adds a ring buffer whose records go to <paramref name="handler"/>. A struct handler is stored in the poller
    /// and called directly, with no virtual call per record; keep state it must report in an object it refers to.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="ring">The ring; not owned.</param>
    /// <param name="handler">Called once per record of this ring.</param>
    /// <returns>The source's index.</returns>
    /// <exception cref="ArgumentException">The ring was already added.</exception>
    /// <exception cref="ObjectDisposedException">The poller or the ring is disposed.</exception>
    /// <exception cref="BpfException">epoll_ctl failed.</exception>
    public int Add<THandler>(RingBuffer ring, THandler handler) where THandler : IRecordHandler
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(handler);
        return AddOnce(new RingSource<THandler>(ring, handler), ring);
    }

    private int AddOnce(Source source, object what)
    {
        int index = AddSource(source);
        return index >= 0 ? index : throw new ArgumentException($"{what} is already in this poller", nameof(source));
    }

    /// <summary>Adds a perf buffer whose samples' data go to <paramref name="handler"/>; lost reports are counted in <see cref="PerfBuffer.LostCount"/>.</summary>
    /// <param name="perf">The perf buffer; not owned (dispose it after the poller).</param>
    /// <param name="handler">Called once per sample of this buffer.</param>
    /// <returns>The source's index, in the order sources were added.</returns>
    /// <exception cref="ArgumentException">The buffer was already added.</exception>
    /// <exception cref="ObjectDisposedException">The poller or the buffer is disposed.</exception>
    /// <exception cref="BpfException">epoll_ctl failed.</exception>
    public int Add(PerfBuffer perf, RecordHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(perf, new DelegateRecordHandler(handler));
    }

    /// <summary>Adds a perf buffer whose samples' data go to <paramref name="handler"/>, stored in the poller and called directly.</summary>
    /// <typeparam name="THandler">The handler type (the same handlers ring buffers take).</typeparam>
    /// <param name="perf">The perf buffer; not owned.</param>
    /// <param name="handler">Called once per sample of this buffer.</param>
    /// <returns>The source's index.</returns>
    /// <exception cref="ArgumentException">The buffer was already added.</exception>
    /// <exception cref="ObjectDisposedException">The poller or the buffer is disposed.</exception>
    /// <exception cref="BpfException">epoll_ctl failed.</exception>
    public int Add<THandler>(PerfBuffer perf, THandler handler) where THandler : IRecordHandler
    {
        ArgumentNullException.ThrowIfNull(perf);
        ArgumentNullException.ThrowIfNull(handler);
        return AddOnce(new PerfSource<RecordSink<THandler>>(perf, new RecordSink<THandler> { Inner = handler }, samplesOnly: true), perf);
    }

    /// <summary>
    /// Adds a perf buffer whose samples (with CPU, slot and timestamp) and lost reports go to <paramref name="handler"/>,
    /// stored in the poller and called directly.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="perf">The perf buffer; not owned.</param>
    /// <param name="handler">Called once per record of this buffer.</param>
    /// <returns>The source's index.</returns>
    /// <exception cref="ArgumentException">The buffer was already added.</exception>
    /// <exception cref="ObjectDisposedException">The poller or the buffer is disposed.</exception>
    /// <exception cref="BpfException">epoll_ctl failed.</exception>
    public int AddRecords<THandler>(PerfBuffer perf, THandler handler) where THandler : IPerfRecordHandler
    {
        ArgumentNullException.ThrowIfNull(perf);
        ArgumentNullException.ThrowIfNull(handler);
        return AddOnce(new PerfSource<THandler>(perf, handler, samplesOnly: false), perf);
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> until a source has records, then hands the records of every ready
    /// source to its handler. Returns at once when records are already waiting.
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit, zero not to wait.</param>
    /// <returns>Records handed over, over all sources (0 on timeout or <see cref="Wake"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative timeout other than infinite.</exception>
    /// <exception cref="InvalidOperationException">Another thread is polling, or a source is being consumed elsewhere.</exception>
    /// <exception cref="ObjectDisposedException">The poller, or a source, is disposed.</exception>
    /// <exception cref="EventSourceGoneException">The kernel hung up a perf buffer's ring (records before it were handed over).</exception>
    /// <exception cref="BpfException">epoll_wait failed.</exception>
    public int Poll(TimeSpan timeout)
    {
        int ms = EventWait.ToMilliseconds(timeout);
        Enter();
        try
        {
            Source[] sources = Volatile.Read(ref _sources);

            // epoll reports a kernel ring while it holds data; an in-process ring's eventfd only when signalled,
            // so data already waiting there is checked first.
            foreach (Source s in sources)
            {
                if (s.HasData)
                {
                    ms = 0;
                    break;
                }
            }

            Span<ulong> ready = stackalloc ulong[EpollSyscall.MaxEvents];
            int err = EventWait.Wait(_epoll, _wake, ready, ms, out int count);
            if (err != 0)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                throw new BpfException(err, KernelCall.EpollWait, "waiting in the event poller");
            }

            for (int i = 0; i < count; i++)
            {
                if (ready[i] == WakeToken)
                {
                    _ = EpollSyscall.EventFdReset(_wake);
                }
                else if (ready[i] < (ulong)sources.Length)
                {
                    sources[(int)ready[i]].AfterWake();
                }
            }

            int total = 0;
            foreach (Source s in sources)
            {
                if (s.HasData)
                {
                    total += s.Consume();
                }
            }

            return total;
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    /// <summary>Hands every source's committed records to its handler, without waiting.</summary>
    /// <returns>Records handed over.</returns>
    /// <exception cref="InvalidOperationException">Another thread is polling.</exception>
    /// <exception cref="ObjectDisposedException">The poller, or a source, is disposed.</exception>
    public int Consume()
    {
        Enter();
        try
        {
            int total = 0;
            foreach (Source s in Volatile.Read(ref _sources))
            {
                total += s.Consume();
            }

            return total;
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    /// <summary>Makes a poll in progress (or the next one) return at once.</summary>
    public void Wake() => _ = EpollSyscall.EventFdSignal(_wake);

    /// <summary>Closes the epoll instance; a blocked <see cref="Poll"/> returns. The sources stay open.</summary>
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
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _polling, 1) != 0)
        {
            throw new InvalidOperationException("another thread is polling this event poller; poll from one thread");
        }
    }

    // The new source's index, or -1 when its events are already in the poller.
    private int AddSource(Source source)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Source[] old = _sources;
            foreach (Source s in old)
            {
                if (ReferenceEquals(s.Identity, source.Identity))
                {
                    return -1;
                }
            }

            int index = old.Length;
            int err = EpollSyscall.EpollAdd(_epoll, source.PollHandle, EpollSyscall.In, (ulong)index);
            if (err != 0)
            {
                ObjectDisposedException.ThrowIf(err == Errno.EBADF, source.Identity);
                throw new BpfException(err, KernelCall.EpollCtl, $"adding {source} to the event poller");
            }

            Volatile.Write(ref _sources, [.. old, source]);
            return index;
        }
    }

    /// <summary>
    /// One source of events: something epoll can wait on and a way to hand its records to a handler (a ring buffer's
    /// map descriptor, or a perf buffer's own epoll instance over its rings).
    /// </summary>
    internal abstract class Source
    {
        /// <summary>What epoll waits on (EPOLLIN).</summary>
        public abstract SafeHandle PollHandle { get; }

        /// <summary>Whether records (or a record still being written) are waiting, or something to report (a ring gone).</summary>
        public abstract bool HasData { get; }

        /// <summary>After epoll reported the source: quiet its readiness if it is edge-like (an eventfd).</summary>
        public abstract void AfterWake();

        /// <summary>Hands every committed record to the handler.</summary>
        public abstract int Consume();

        /// <summary>The object whose events this source reads (a source is added once).</summary>
        public abstract object Identity { get; }
    }

    private sealed class RingSource<THandler>(RingBuffer ring, THandler handler) : Source where THandler : IRecordHandler
    {
        private THandler _handler = handler;

        public override SafeHandle PollHandle => ring.PollHandle;

        public override bool HasData => ring.HasData;

        public override void AfterWake() => ring.AfterWake();

        public override int Consume() => ring.ConsumeCore(ref _handler, int.MaxValue);

        public override object Identity => ring;

        public override string ToString() => ring.ToString();
    }

    private sealed class PerfSource<THandler>(PerfBuffer perf, THandler handler, bool samplesOnly) : Source where THandler : IPerfRecordHandler
    {
        private THandler _handler = handler;

        public override SafeHandle PollHandle => perf.PollHandle;

        public override bool HasData => perf.HasData || perf.HasGoneRing;

        public override void AfterWake() => perf.AfterWake();

        public override int Consume()
        {
            int n = perf.ConsumeCore(ref _handler, int.MaxValue);
            perf.ThrowIfGone();
            return samplesOnly ? n - perf.LastLostReports : n;
        }

        public override object Identity => perf;

        public override string ToString() => perf.ToString();
    }

    /// <summary>An <see cref="IRecordHandler"/> kept in a poller source for a perf buffer: sample data only.</summary>
    private struct RecordSink<THandler> : IPerfRecordHandler where THandler : IRecordHandler
    {
        public THandler Inner;

        public void OnSample(in PerfSample sample) => Inner.OnRecord(sample.Data);

        public readonly void OnLost(in PerfLost lost)
        {
        }
    }
}
