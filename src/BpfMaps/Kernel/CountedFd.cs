using System.Runtime.InteropServices;

namespace BpfMaps.Kernel;

/// <summary>
/// A descriptor that is not a BPF object (epoll, eventfd, memfd, perf event): closed exactly once by its SafeHandle,
/// and counted like <see cref="BpfFd"/> so the leak harness can check that every one is released.
/// Public as part of the backend memory seam (<see cref="IMapMemoryBackend"/>): a backend hands out
/// <see cref="EventFdHandle"/>s to wait on and maps <see cref="MemFdHandle"/>s; only this library derives from it.
/// </summary>
public abstract class CountedFd : SafeHandle
{
    private static readonly LeakTracker s_tracker = new();

    private protected CountedFd() : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <summary>Descriptors of these kinds (all four) created and not yet closed, process-wide.</summary>
    public static long LiveCount => s_tracker.LiveCount;

    /// <summary>Creation stacks of the live ones (empty unless <c>BPFMAPS_TRACK_FDS=1</c>).</summary>
    internal static IReadOnlyCollection<string> LiveOrigins => s_tracker.LiveOrigins;

    /// <summary>Descriptors the finalizer closed instead of Dispose.</summary>
    internal static long FinalizedCount => s_tracker.FinalizedCount;

    /// <summary>Creation stacks of the descriptors the finalizer closed.</summary>
    internal static IReadOnlyCollection<string> FinalizedOrigins => s_tracker.FinalizedOrigins;

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

/// <summary>
/// An eventfd: what a waiter is woken through (cancellation, disposal, in-process producers). A backend's
/// <see cref="IMapMemoryBackend.OpenPollHandle"/> may hand one out; the waiter resets it after each wake.
/// </summary>
public sealed class EventFdHandle : CountedFd
{
    /// <summary>An invalid handle, until a descriptor is adopted (as SafeHandle marshalling wants).</summary>
    public EventFdHandle()
    {
    }

    /// <summary>eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).</summary>
    /// <param name="eventFd">The new eventfd; an invalid handle on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int Create(out EventFdHandle eventFd) => EpollSyscall.EventFdCreate(out eventFd);

    /// <summary>Adds 1 to the counter, making the eventfd readable (EPOLLIN) until a waiter resets it.</summary>
    /// <returns>0 or errno (EBADF when closed).</returns>
    public int Signal() => EpollSyscall.EventFdSignal(this);

    /// <summary>dup(2): a second descriptor of the same eventfd, owned by the caller.</summary>
    /// <param name="copy">The copy; an invalid handle on failure.</param>
    /// <returns>0 or errno.</returns>
    public int Duplicate(out EventFdHandle copy) => EpollSyscall.EventFdDup(this, out copy);
}

/// <summary>A memfd: anonymous memory with a descriptor, to map more than once (the pages of an in-process ring buffer).</summary>
public sealed class MemFdHandle : CountedFd
{
    /// <summary>An invalid handle, until a descriptor is adopted (as SafeHandle marshalling wants).</summary>
    public MemFdHandle()
    {
    }

    /// <summary>memfd_create("bpfmaps-ring", MFD_CLOEXEC) and ftruncate to <paramref name="size"/> bytes.</summary>
    /// <param name="size">Bytes.</param>
    /// <param name="memfd">The descriptor; null on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int Create(nuint size, out MemFdHandle? memfd) => MemFd.Create(size, out memfd);
}

/// <summary>A perf event (perf_event_open): one CPU's ring of a perf event array.</summary>
internal sealed class PerfEventHandle : CountedFd
{
}
