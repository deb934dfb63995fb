using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>readlink, for the <c>/proc/PID/fd</c> scan: one syscall per descriptor, into a stack buffer.</summary>
internal static unsafe partial class Readlink
{
    /// <summary>readlink(path, buf, size).</summary>
    /// <param name="path">A NUL-terminated UTF-8 path.</param>
    /// <param name="buffer">Where the target goes (not NUL-terminated).</param>
    /// <param name="size">The buffer's size.</param>
    /// <returns>The target's length, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "readlink")]
    public static partial nint Call(byte* path, byte* buffer, nint size);
}
