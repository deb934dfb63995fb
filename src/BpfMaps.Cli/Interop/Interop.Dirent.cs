using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>
/// opendir/readdir/closedir, for the <c>/proc/PID/fd</c> scan: Directory.EnumerateFileSystemEntries stats
/// every symbolic link it meets (lstat and stat, to tell a directory), and every entry there is one.
/// </summary>
internal static unsafe partial class Dirent
{
    /// <summary>Offset of d_name in glibc's 64-bit <c>struct dirent</c> (d_ino 8, d_off 8, d_reclen 2, d_type 1).</summary>
    public const int NameOffset = 19;

    /// <summary>opendir(path).</summary>
    /// <param name="path">A NUL-terminated UTF-8 path.</param>
    /// <returns>The stream, or null.</returns>
    [LibraryImport("libc", EntryPoint = "opendir")]
    public static partial nint Open(byte* path);

    /// <summary>readdir(dir).</summary>
    /// <param name="dir">The stream.</param>
    /// <returns>The next entry, or null at the end.</returns>
    [LibraryImport("libc", EntryPoint = "readdir")]
    public static partial byte* Read(nint dir);

    /// <summary>dirfd(dir): the stream's own descriptor, for *at() calls relative to the directory.</summary>
    /// <param name="dir">The stream.</param>
    /// <returns>The descriptor, or -1.</returns>
    [LibraryImport("libc", EntryPoint = "dirfd")]
    public static partial int Fd(nint dir);

    /// <summary>closedir(dir).</summary>
    /// <param name="dir">The stream.</param>
    /// <returns>0, or -1.</returns>
    [LibraryImport("libc", EntryPoint = "closedir")]
    public static partial int Close(nint dir);
}
