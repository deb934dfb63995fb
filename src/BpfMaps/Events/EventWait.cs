using System.Diagnostics;
using BpfMaps.Kernel;

namespace BpfMaps.Events;

/// <summary>Timeouts and the epoll_wait loop shared by the ring buffer and the poller.</summary>
internal static class EventWait
{
    /// <summary>A TimeSpan as epoll's milliseconds: -1 for infinite, rounded up so a short wait still waits.</summary>
    public static int ToMilliseconds(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return Timeout.Infinite;
        }

        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be zero or more, or Timeout.InfiniteTimeSpan");
        }

        double ms = Math.Ceiling(timeout.TotalMilliseconds);
        return ms >= int.MaxValue ? int.MaxValue : (int)ms;
    }

    /// <summary>
    /// epoll_wait, restarted with what is left of the timeout when a signal interrupts it. <paramref name="wake"/>,
    /// the eventfd that ends the wait early, is held open for the wait: closing it while a waiter sleeps would take
    /// it off the epoll set before the waiter saw it signalled, and the wait would go on.
    /// </summary>
    public static int Wait(EpollHandle epoll, EventFdHandle wake, Span<ulong> ready, int timeoutMs, out int count)
        => Wait(epoll, wake, ready, Span<uint>.Empty, timeoutMs, out count);

    /// <summary>Like <see cref="Wait(EpollHandle, EventFdHandle, Span{ulong}, int, out int)"/>, with each ready descriptor's event bits.</summary>
    public static int Wait(EpollHandle epoll, EventFdHandle wake, Span<ulong> ready, Span<uint> events, int timeoutMs, out int count)
    {
        count = 0;
        bool held = false;
        try
        {
            wake.DangerousAddRef(ref held);
        }
        catch (ObjectDisposedException)
        {
            return Errno.EBADF;
        }

        try
        {
            return WaitCore(epoll, ready, events, timeoutMs, out count);
        }
        finally
        {
            wake.DangerousRelease();
        }
    }

    private static int WaitCore(EpollHandle epoll, Span<ulong> ready, Span<uint> events, int timeoutMs, out int count)
    {
        long start = timeoutMs > 0 ? Stopwatch.GetTimestamp() : 0;
        int left = timeoutMs;
        while (true)
        {
            int err = EpollSyscall.EpollWait(epoll, ready, events, left, out count);
            if (err != Errno.EINTR)
            {
                return err;
            }

            if (timeoutMs > 0)
            {
                long elapsed = (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                left = (int)Math.Max(0, timeoutMs - elapsed);
            }
        }
    }
}
