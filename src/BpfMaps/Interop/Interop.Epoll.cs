using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>epoll_create1, epoll_ctl and epoll_wait: waiting on ring buffers and other event sources.</summary>
internal static unsafe partial class Epoll
{
    /// <summary>EPOLL_CLOEXEC.</summary>
    public const int Cloexec = 0x80000;

    /// <summary>EPOLL_CTL_ADD.</summary>
    public const int CtlAdd = 1;

    /// <summary>EPOLL_CTL_DEL.</summary>
    public const int CtlDel = 2;

    /// <summary>EPOLLIN: readable (a kernel-producer ring buffer has data).</summary>
    public const uint In = 0x001;

    /// <summary>EPOLLOUT: writable (a user ring buffer is empty).</summary>
    public const uint Out = 0x004;

    /// <summary>EPOLLERR: an error on the descriptor (always reported, never asked for).</summary>
    public const uint Err = 0x008;

    /// <summary>EPOLLHUP: hung up (a perf event the kernel has ended; always reported, never asked for).</summary>
    public const uint Hup = 0x010;

    /// <summary>
    /// glibc packs <c>struct epoll_event</c> on x86-64 (12 bytes, data at offset 4); i386 aligns a u64
    /// to 4 anyway. Every other architecture lays it out naturally (16 bytes, data at offset 8).
    /// </summary>
    public static readonly bool Packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    /// <summary>Bytes of one <c>struct epoll_event</c> on this architecture.</summary>
    public static int EventSize => Packed ? sizeof(EpollEventPacked) : sizeof(EpollEvent);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create1(int flags);

    /// <summary>epoll_ctl; <paramref name="ev"/> points at an event of this architecture's layout.</summary>
    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Ctl(int epfd, int op, int fd, void* ev);

    /// <summary>epoll_wait; <paramref name="events"/> holds <paramref name="maxEvents"/> events of this architecture's layout.</summary>
    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epfd, void* events, int maxEvents, int timeout);

    /// <summary><c>struct epoll_event</c> as glibc declares it on x86 (<c>__attribute__((packed))</c>).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEventPacked
    {
        public uint events;
        public ulong data;
    }

    /// <summary><c>struct epoll_event</c> on architectures that do not pack it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EpollEvent
    {
        public uint events;
        public ulong data;
    }
}
