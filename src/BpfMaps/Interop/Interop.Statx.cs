using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>statx, for a path's file type without opening it (opening a FIFO blocks).</summary>
internal static partial class Statx
{
    /// <summary>AT_FDCWD: paths relative to the working directory.</summary>
    public const int AtFdCwd = -100;

    /// <summary>STATX_TYPE: the file type bits of stx_mode.</summary>
    public const uint StatxType = 1;

    /// <summary>statx(dirfd, path, flags, mask, buf) (glibc 2.28, Linux 4.11).</summary>
    /// <param name="dirfd">AT_FDCWD.</param>
    /// <param name="path">The path.</param>
    /// <param name="flags">0: follow symbolic links.</param>
    /// <param name="mask">What to fill.</param>
    /// <param name="buf">The result.</param>
    /// <returns>0, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Call(int dirfd, string path, int flags, uint mask, out StatxBuffer buf);

    /// <summary><c>struct statx</c>: the same layout on every architecture; 256 bytes.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct StatxBuffer
    {
        /// <summary><c>stx_mode</c>: file type and permissions.</summary>
        [FieldOffset(28)]
        public ushort Mode;
    }
}
