using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// What the bpf file system can and cannot hold. The kernel answers BPF_OBJ_GET with EACCES, and
/// BPF_OBJ_PIN with EPERM, both for a real permission problem and for a path that cannot hold a pin
/// at all (a directory, a file outside bpffs), even to root. These checks look at the path itself, so
/// that a message can say which it is.
/// </summary>
public static class BpfFs
{
    /// <summary>Whether <paramref name="path"/> lies on a bpffs mount (statfs), or null when statfs fails (e.g. the path does not exist).</summary>
    /// <param name="path">An existing path.</param>
    /// <returns>The answer, or null.</returns>
    public static bool? IsOnBpfFs(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BpfErrors.ThrowIfContainsNul(path, nameof(path));
        return FileSystemSyscall.IsOnBpfFs(path);
    }

    /// <summary>Why <paramref name="path"/> cannot be opened as a pinned object, when the path itself is the reason.</summary>
    /// <param name="path">The path given to <see cref="BpfMap.OpenPinned"/>.</param>
    /// <returns>One line, or null when the path is a file on bpffs (then the errno is the answer).</returns>
    public static string? WhyNotAPin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BpfErrors.ThrowIfContainsNul(path, nameof(path));
        if (Directory.Exists(path))
        {
            return $"{path} is a directory, not a pinned BPF object";
        }

        return File.Exists(path) && IsOnBpfFs(path) == false
            ? $"{path} is not on a bpffs mount, so it is not a pinned BPF object (pins live under /sys/fs/bpf)"
            : null;
    }

    /// <summary>Why nothing can be pinned at <paramref name="path"/>, when the place itself is the reason.</summary>
    /// <param name="path">The path given to <see cref="BpfMap.Pin"/>.</param>
    /// <returns>One line, or null when the parent directory is on bpffs.</returns>
    public static string? WhyCannotPinAt(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BpfErrors.ThrowIfContainsNul(path, nameof(path));
        string parent = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        return IsOnBpfFs(parent) == false
            ? $"{path} is not on a bpffs mount; pin under /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)"
            : null;
    }
}
