namespace BpfMaps;

/// <summary>
/// A failed call that is not a bpf() command, reported as a <see cref="BpfException"/> with
/// <see cref="BpfException.FailedCall"/> set: a system call on a map's memory or descriptors, or an
/// operation the in-process engine runs in a BPF program's place.
/// </summary>
public enum KernelCall
{
    /// <summary><c>mmap</c> of a map's memory (mmapable arrays, ring buffers).</summary>
    Mmap = 1,

    /// <summary><c>epoll_create1</c>, for a ring buffer or an <see cref="Events.EventPoller"/>.</summary>
    EpollCreate,

    /// <summary><c>epoll_ctl</c>, adding a descriptor to an epoll instance.</summary>
    EpollCtl,

    /// <summary><c>epoll_wait</c>, waiting for records.</summary>
    EpollWait,

    /// <summary><c>eventfd</c>, the wake-up descriptor of a ring buffer.</summary>
    EventFd,

    /// <summary><c>dup</c> of a map's descriptor, to poll it.</summary>
    Dup,

    /// <summary>The in-process engine's atomic add, which stands in for a program's lookup and atomic add.</summary>
    AtomicAdd,

    /// <summary>The in-process engine's <c>bpf_user_ringbuf_drain</c>, the program side of a user ring buffer.</summary>
    UserRingbufDrain,

    /// <summary><c>perf_event_open</c>, a perf buffer's event on one CPU.</summary>
    PerfEventOpen,

    /// <summary>An <c>ioctl</c> on a perf event: enable, disable, pause or resume its output.</summary>
    PerfEventIoctl,
}

/// <summary>Names of <see cref="KernelCall"/> values as the system spells them.</summary>
public static class KernelCallNames
{
    /// <summary>The call's name as the system spells it: <c>mmap</c>, <c>epoll_wait</c>, <c>bpf_user_ringbuf_drain</c>.</summary>
    /// <param name="call">The call.</param>
    /// <returns>The name.</returns>
    public static string SystemName(this KernelCall call) => call switch
    {
        KernelCall.Mmap => "mmap",
        KernelCall.EpollCreate => "epoll_create1",
        KernelCall.EpollCtl => "epoll_ctl",
        KernelCall.EpollWait => "epoll_wait",
        KernelCall.EventFd => "eventfd",
        KernelCall.Dup => "dup",
        KernelCall.AtomicAdd => "atomic add",
        KernelCall.UserRingbufDrain => "bpf_user_ringbuf_drain",
        KernelCall.PerfEventOpen => "perf_event_open",
        KernelCall.PerfEventIoctl => "ioctl",
        _ => call.ToString(),
    };
}
