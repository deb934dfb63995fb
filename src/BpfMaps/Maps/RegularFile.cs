using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// Why a path given as a file to read (a configuration, a BTF file) is not one, found without opening
/// it: opening a FIFO blocks until a writer comes, and reading a pinned BPF object reads the kernel's
/// rendering of it, not a file.
/// </summary>
public static class RegularFile
{
    /// <summary>One line saying why <paramref name="path"/> is not a regular file, or null when it is one (or does not exist).</summary>
    /// <param name="path">The path.</param>
    /// <returns>"is a directory", "is a FIFO (named pipe)", …, or null.</returns>
    /// <exception cref="ArgumentException">The path is empty or holds a NUL.</exception>
    public static string? WhyNot(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BpfErrors.ThrowIfContainsNul(path, nameof(path));
        if (FileSystemSyscall.FileType(path) is not { } type)
        {
            return null;
        }

        // S_IFMT bits of st_mode.
        string? kind = type switch
        {
            0x8000 => null,
            0x4000 => "a directory",
            0x1000 => "a FIFO (named pipe)",
            0xc000 => "a socket",
            0x2000 => "a character device",
            0x6000 => "a block device",
            _ => "not a regular file",
        };

        if (kind is null && BpfFs.IsOnBpfFs(path) == true)
        {
            kind = "a pinned BPF object on bpffs";
        }

        return kind is null ? null : $"{path} is {kind}, not a file to read";
    }
}
