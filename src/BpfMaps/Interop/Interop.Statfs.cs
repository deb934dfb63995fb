using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>statfs, to tell a bpffs path from any other.</summary>
internal static partial class Statfs
{
    /// <summary>BPF_FS_MAGIC from linux/magic.h.</summary>
    public const long BpfFsMagic = 0xcafe4a11;

    /// <summary>statfs(path, buf).</summary>
    /// <param name="path">The path.</param>
    /// <param name="buf">The result; only <see cref="StatfsBuffer.Type"/> is read.</param>
    /// <returns>0, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Call(string path, out StatfsBuffer buf);

    /// <summary><c>struct statfs</c> on 64-bit Linux: <c>f_type</c> first, 120 bytes in all (room to spare here).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    public struct StatfsBuffer
    {
        /// <summary><c>f_type</c>: the file system's magic number.</summary>
        public long Type;
    }
}
