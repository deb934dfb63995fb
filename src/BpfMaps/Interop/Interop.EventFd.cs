using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>eventfd and the read/write that signal and reset it: waking a blocked wait.</summary>
internal static unsafe partial class EventFd
{
    /// <summary>EFD_CLOEXEC.</summary>
    public const int Cloexec = 0x80000;

    /// <summary>EFD_NONBLOCK: reading an unsignalled eventfd returns EAGAIN instead of blocking.</summary>
    public const int NonBlock = 0x800;

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int Create(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buf, nuint count);
}
