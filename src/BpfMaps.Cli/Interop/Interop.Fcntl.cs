using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>fcntl, to enlarge the stdout pipe.</summary>
internal static partial class Fcntl
{
    /// <summary>F_SETPIPE_SZ (Linux 2.6.35): set a pipe's capacity.</summary>
    public const int F_SETPIPE_SZ = 1031;

    /// <summary>fcntl(fd, cmd, arg).</summary>
    /// <param name="fd">The descriptor.</param>
    /// <param name="cmd">The command.</param>
    /// <param name="arg">Its argument.</param>
    /// <returns>The result, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Call(int fd, int cmd, int arg);
}
