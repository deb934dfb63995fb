using System.Runtime.InteropServices;

namespace BpfMaps.Kernel;

/// <summary>
/// A descriptor that is not a BPF object (epoll, eventfd, memfd, perf event): closed exactly once by its SafeHandle,
/// and counted like <see cref="BpfFd"/> so the leak harness can check that every one is released.
/// </summary>
internal abstract class CountedFd : SafeHandle
{
    private static readonly LeakTracker s_tracker = new();

    protected CountedFd() : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <summary>Descriptors of these kinds (all four) created and not yet closed, process-wide.</summary>
    public static long LiveCount => s_tracker.LiveCount;

    /// <summary>Creation stacks of the live ones (empty unless <c>BPFMAPS_TRACK_FDS=1</c>).</summary>
    public static IReadOnlyCollection<string> LiveOrigins => s_tracker.LiveOrigins;

    /// <summary>Descriptors the finalizer closed instead of Dispose.</summary>
    public static long FinalizedCount => s_tracker.FinalizedCount;

    /// <summary>Creation stacks of the descriptors the finalizer closed.</summary>
    public static IReadOnlyCollection<string> FinalizedOrigins => s_tracker.FinalizedOrigins;

    /// <inheritdoc />
    public override bool IsInvalid => handle == -1;

    /// <summary>The descriptor number; valid only while the handle is open.</summary>
    public int Value => (int)handle;

    internal void Adopt(int fd)
    {
        SetHandle(fd);
        s_tracker.Created(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid && !IsClosed)
        {
            s_tracker.Finalizing(this);
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        s_tracker.Released(this);
        return Interop.Interop.Close((int)handle) == 0;
    }
}

/// <summary>An epoll instance (epoll_create1).</summary>
internal sealed class EpollHandle : CountedFd
{
}

/// <summary>An eventfd: what a waiter is woken through (cancellation, disposal, in-process producers).</summary>
internal sealed class EventFdHandle : CountedFd
{
}

/// <summary>A memfd: the pages of an in-process ring buffer, mapped twice.</summary>
internal sealed class MemFdHandle : CountedFd
{
}

/// <summary>A perf event (perf_event_open): one CPU's ring of a perf event array.</summary>
internal sealed class PerfEventHandle : CountedFd
{
}
