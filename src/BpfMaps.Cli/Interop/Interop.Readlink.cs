using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>readlinkat, for the <c>/proc/PID/fd</c> scan: one syscall per descriptor, into a stack buffer, by name within the open directory.</summary>
internal static unsafe partial class Readlink
{
    /// <summary>readlinkat(dirfd, name, buf, size).</summary>
    /// <param name="dirFd">The directory the name is in.</param>
    /// <param name="name">A NUL-terminated UTF-8 name, relative to <paramref name="dirFd"/>.</param>
    /// <param name="buffer">Where the target goes (not NUL-terminated).</param>
    /// <param name="size">The buffer's size.</param>
    /// <returns>The target's length, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "readlinkat")]
    public static partial nint At(int dirFd, byte* name, byte* buffer, nint size);
}
