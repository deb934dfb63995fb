using System.Runtime.InteropServices;
using static BpfMaps.Interop.Epoll;

namespace BpfMaps.Kernel;

/// <summary>
/// The raw tier over epoll and eventfd: kernel names, errno returns, no exceptions, no allocation
/// beyond the handle objects. Every descriptor passed in is held for the call.
/// </summary>
internal static unsafe class EpollSyscall
{
    /// <summary>EPOLLIN: the descriptor is readable.</summary>
    public const uint In = Interop.Epoll.In;

    /// <summary>The most events one <see cref="EpollWait(EpollHandle, Span{ulong}, int, out int)"/> returns.</summary>
    public const int MaxEvents = 64;

    /// <summary>epoll_create1(EPOLL_CLOEXEC).</summary>
    /// <param name="epoll">The new instance; invalid on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int EpollCreate(out EpollHandle epoll)
    {
        epoll = new EpollHandle();
        int fd = Create1(Cloexec);
        if (fd < 0)
        {
            return Marshal.GetLastSystemError();
        }

        epoll.Adopt(fd);
        return 0;
    }

    /// <summary>epoll_ctl(EPOLL_CTL_ADD): level-triggered <paramref name="events"/> on <paramref name="fd"/>, reported with <paramref name="data"/>.</summary>
    /// <param name="epoll">The instance.</param>
    /// <param name="fd">The descriptor to watch.</param>
    /// <param name="events">EPOLLIN, EPOLLOUT.</param>
    /// <param name="data">What epoll_wait reports for it.</param>
    /// <returns>0 or errno.</returns>
    public static int EpollAdd(EpollHandle epoll, SafeHandle fd, uint events, ulong data) => Control(epoll, CtlAdd, fd, events, data);

    /// <summary>epoll_ctl(EPOLL_CTL_DEL).</summary>
    /// <param name="epoll">The instance.</param>
    /// <param name="fd">The descriptor to stop watching.</param>
    /// <returns>0 or errno.</returns>
    public static int EpollDelete(EpollHandle epoll, SafeHandle fd) => Control(epoll, CtlDel, fd, 0, 0);

    private static int Control(EpollHandle epoll, int op, SafeHandle fd, uint events, ulong data)
    {
        if (!FdLease.TryAcquire(epoll, out var epLease, out int ep))
        {
            return Errno.EBADF;
        }

        using (epLease)
        {
            if (!FdLease.TryAcquire(fd, out var lease, out int raw))
            {
                return Errno.EBADF;
            }

            using (lease)
            {
                int ret;
                if (Packed)
                {
                    var ev = new EpollEventPacked { events = events, data = data };
                    ret = Ctl(ep, op, raw, &ev);
                }
                else
                {
                    var ev = new EpollEvent { events = events, data = data };
                    ret = Ctl(ep, op, raw, &ev);
                }

                return ret < 0 ? Marshal.GetLastSystemError() : 0;
            }
        }
    }

    /// <summary>
    /// epoll_wait: blocks up to <paramref name="timeoutMs"/> (-1: no limit, 0: do not block) and writes the
    /// data of each ready descriptor to <paramref name="ready"/>.
    /// </summary>
    /// <param name="epoll">The instance; held for the whole wait, so closing it waits for the wait to end.</param>
    /// <param name="ready">Receives the data of the ready descriptors (at most <see cref="MaxEvents"/>).</param>
    /// <param name="timeoutMs">Milliseconds.</param>
    /// <param name="count">How many were ready.</param>
    /// <returns>0 or errno (EINTR when a signal interrupted the wait).</returns>
    public static int EpollWait(EpollHandle epoll, Span<ulong> ready, int timeoutMs, out int count)
        => EpollWait(epoll, ready, Span<uint>.Empty, timeoutMs, out count);

    /// <summary>
    /// epoll_wait that also reports what each ready descriptor had (EPOLLIN, and EPOLLHUP or EPOLLERR, which epoll
    /// reports unasked).
    /// </summary>
    /// <param name="epoll">The instance; held for the whole wait.</param>
    /// <param name="ready">Receives the data of the ready descriptors (at most <see cref="MaxEvents"/>).</param>
    /// <param name="events">Receives each one's event bits, or empty not to.</param>
    /// <param name="timeoutMs">Milliseconds.</param>
    /// <param name="count">How many were ready.</param>
    /// <returns>0 or errno (EINTR when a signal interrupted the wait).</returns>
    public static int EpollWait(EpollHandle epoll, Span<ulong> ready, Span<uint> events, int timeoutMs, out int count)
    {
        count = 0;
        if (!FdLease.TryAcquire(epoll, out var lease, out int ep))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            int max = Math.Min(ready.Length, MaxEvents);
            if (!events.IsEmpty)
            {
                max = Math.Min(max, events.Length);
            }

            byte* buf = stackalloc byte[MaxEvents * sizeof(EpollEvent)];
            int n = Wait(ep, buf, max, timeoutMs);
            if (n < 0)
            {
                return Marshal.GetLastSystemError();
            }

            for (int i = 0; i < n; i++)
            {
                ready[i] = Packed ? ((EpollEventPacked*)buf)[i].data : ((EpollEvent*)buf)[i].data;
                if (!events.IsEmpty)
                {
                    events[i] = Packed ? ((EpollEventPacked*)buf)[i].events : ((EpollEvent*)buf)[i].events;
                }
            }

            count = n;
            return 0;
        }
    }

    /// <summary>eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).</summary>
    /// <param name="eventFd">The new eventfd; invalid on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int EventFdCreate(out EventFdHandle eventFd)
    {
        eventFd = new EventFdHandle();
        int fd = Interop.EventFd.Create(0, Interop.EventFd.Cloexec | Interop.EventFd.NonBlock);
        if (fd < 0)
        {
            return Marshal.GetLastSystemError();
        }

        eventFd.Adopt(fd);
        return 0;
    }

    /// <summary>Adds 1 to the eventfd's counter, making it readable (EPOLLIN) until <see cref="EventFdReset"/>.</summary>
    /// <param name="eventFd">The eventfd.</param>
    /// <returns>0 or errno (EBADF once it is closed).</returns>
    public static int EventFdSignal(EventFdHandle eventFd)
    {
        if (!FdLease.TryAcquire(eventFd, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            ulong one = 1;
            return Interop.EventFd.Write(fd, &one, sizeof(ulong)) < 0 ? Marshal.GetLastSystemError() : 0;
        }
    }

    /// <summary>Reads the counter back to 0 (non-blocking: an unsignalled eventfd is left as it is).</summary>
    /// <param name="eventFd">The eventfd.</param>
    /// <returns>0, or errno other than EAGAIN.</returns>
    public static int EventFdReset(EventFdHandle eventFd)
    {
        if (!FdLease.TryAcquire(eventFd, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            ulong value;
            if (Interop.EventFd.Read(fd, &value, sizeof(ulong)) < 0)
            {
                int err = Marshal.GetLastSystemError();
                return err == Errno.EAGAIN ? 0 : err;
            }

            return 0;
        }
    }

    /// <summary>A second descriptor for the same eventfd (dup), owned by the caller.</summary>
    /// <param name="eventFd">The eventfd.</param>
    /// <param name="copy">The copy; invalid on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int EventFdDup(EventFdHandle eventFd, out EventFdHandle copy)
    {
        copy = new EventFdHandle();
        if (!FdLease.TryAcquire(eventFd, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            int d = Interop.Interop.Dup(fd);
            if (d < 0)
            {
                return Marshal.GetLastSystemError();
            }

            copy.Adopt(d);
            return 0;
        }
    }
}
