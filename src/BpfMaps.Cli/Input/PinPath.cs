using BpfMaps.Cli.Interop;

namespace BpfMaps.Cli.Input;

/// <summary>
/// Why a pin path is refused. The kernel answers EACCES or EPERM both for a real permission problem and
/// for a path that cannot hold a pin at all (a regular file or directory, a path outside bpffs), so the
/// CLI looks at the path before it blames permissions.
/// </summary>
internal static class PinPath
{
    /// <summary>Why <c>BPF_OBJ_GET</c> on <paramref name="path"/> cannot open a map, when the path itself is the reason.</summary>
    /// <param name="path">The path given to <c>pinned</c>.</param>
    /// <returns>A message, or null when the path is a file on bpffs (then the errno is the answer).</returns>
    public static string? NotAPin(string path)
    {
        if (Directory.Exists(path))
        {
            return $"{path} is a directory, not a pinned BPF map";
        }

        return File.Exists(path) && IsOnBpffs(path) == false
            ? $"{path} is not on a bpffs mount, so it is not a pinned BPF map"
            : null;
    }

    /// <summary>Why <c>BPF_OBJ_PIN</c> cannot create <paramref name="path"/>, when the place itself is the reason.</summary>
    /// <param name="path">The pin path.</param>
    /// <returns>A message, or null when the parent directory is on bpffs.</returns>
    public static string? CannotPinAt(string path)
    {
        string parent = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        return IsOnBpffs(parent) == false
            ? $"{path} is not on a bpffs mount; pin under /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)"
            : null;
    }

    /// <summary>Whether <paramref name="path"/> lies on a bpffs mount, or null if statfs fails.</summary>
    /// <param name="path">An existing path.</param>
    /// <returns>The answer, or null.</returns>
    public static bool? IsOnBpffs(string path)
        => Statfs.Call(path, out Statfs.StatfsBuffer buf) == 0 ? (buf.Type & 0xffffffffL) == Statfs.BpfFsMagic : null;
}
