using System.Diagnostics.CodeAnalysis;

namespace BpfMaps;

/// <summary>The single errno-to-exception switch and the throw helpers.</summary>
internal static class BpfErrors
{
    public static string? DefaultHint(int errno, string command) => errno switch
    {
        // The kernel answers EACCES for any path that is not a BPF object (a regular file, a directory, another file system).
        Errno.EACCES when command == "BPF_OBJ_GET" => "not a pinned BPF object (pins live on a bpffs mount), or permission denied: needs root or CAP_BPF",
        Errno.EPERM when command == "BPF_OBJ_PIN" => "pins must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf), or permission denied: needs root or CAP_BPF",
        Errno.EPERM or Errno.EACCES => "permission denied: needs root or CAP_BPF (CAP_SYS_ADMIN on older kernels)",
        Errno.ENOENT when command.Contains("PROG_GET_FD_BY_ID", StringComparison.Ordinal) => "no program with that id",
        Errno.ENOENT when command.Contains("GET_FD_BY_ID", StringComparison.Ordinal) => "no map with that id",
        Errno.ENOENT when command.Contains("OBJ_GET", StringComparison.Ordinal) => "nothing is pinned at that path",
        Errno.ENOENT when command == "BPF_OBJ_PIN" => "the directory to pin in does not exist",
        Errno.ENOENT => "no such element",
        Errno.EBADF => "the descriptor is closed or is not a BPF object",
        Errno.EINVAL when command.Contains("INFO", StringComparison.Ordinal) => "the descriptor is not a BPF object",
        Errno.EINVAL when command.Contains("OBJ_PIN", StringComparison.Ordinal) => "is the path on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)?",
        Errno.EINVAL => "invalid argument: wrong size, flags, or an operation this map type does not take",
        Errno.E2BIG when command == "BPF_MAP_CREATE" => "a size past the kernel's limits (key, value or max_entries too large)",
        Errno.E2BIG when command == "BPF_PROG_LOAD" => "the program is too large",
        Errno.E2BIG => "the map is full (max_entries reached)",
        Errno.EEXIST => "the key already exists (NoExist)",
        Errno.ENOSPC => "batch size too small to hold one hash bucket?",
        Errno.ENOMEM => "out of memory, or RLIMIT_MEMLOCK too low on kernels before 5.11",
        Errno.EFAULT => "bad address passed to the kernel",
        Errno.ENOSYS => "the bpf() syscall is not available on this system",
        Errno.EBUSY => "the map is busy (frozen or in use)",
        Errno.ENOTDIR => "a component of the path is not a directory",
        Errno.ENAMETOOLONG => "the path, or a name in it, is too long",
        Errno.ELOOP => "too many symbolic links in the path",
        Errno.EMFILE => "too many open files in this process (raise ulimit -n)",
        Errno.ENOTSUPP or Errno.EOPNOTSUPP => "this map type does not support the operation",
        _ => null,
    };

    /// <summary>Maps a kernel errno to the exception the public tier throws.</summary>
    public static Exception Create(int errno, string command, string? mapType = null)
    {
        if (errno is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            string feature = mapType is null ? command : $"{command} on {mapType}";
            return new BpfNotSupportedException(feature, MinimumKernelFor(command, mapType), errno);
        }

        return new BpfException(errno, command);
    }

    /// <summary>Throws the exception for <paramref name="errno"/>.</summary>
    [DoesNotReturn]
    public static void Throw(int errno, string command, string? mapType = null) => throw Create(errno, command, mapType);

    [DoesNotReturn]
    public static void ThrowBatch(int errno, string command, int? processed, string? mapType)
    {
        if (errno is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            Throw(errno, command, mapType);
        }

        throw new BpfBatchException(errno, command, processed);
    }

    [DoesNotReturn]
    public static void ThrowSize(string paramName, string what, int got, int expected)
        => throw new ArgumentException($"{what} is {got} bytes but the map expects {expected} bytes", paramName);

    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) => throw new ArgumentException(message, paramName);

    /// <summary>The kernel reads C strings, so a NUL inside a .NET string would silently cut it short.</summary>
    public static void ThrowIfContainsNul(string s, string paramName)
    {
        ArgumentNullException.ThrowIfNull(s, paramName);
        int nul = s.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
        {
            ThrowArgument(paramName, $"{paramName} has a NUL character at index {nul}; the kernel would read only '{s[..nul]}'");
        }
    }

    private static string? MinimumKernelFor(string command, string? mapType)
    {
        // Where no kernel implements the op for this map type there is no minimum to name.
        if (mapType is "Array" or "PerCpuArray" or "ArrayOfMaps" && command is "BPF_MAP_LOOKUP_AND_DELETE_BATCH" or "BPF_MAP_DELETE_BATCH" or "BPF_MAP_LOOKUP_AND_DELETE_ELEM")
        {
            return null;
        }

        if (mapType is "BloomFilter" && command is "BPF_MAP_LOOKUP_AND_DELETE_ELEM")
        {
            return null;
        }

        return command switch
        {
            "BPF_MAP_LOOKUP_BATCH" or "BPF_MAP_LOOKUP_AND_DELETE_BATCH" or "BPF_MAP_UPDATE_BATCH" or "BPF_MAP_DELETE_BATCH"
                => mapType is "PerCpuArray" ? "5.13" : mapType is "LpmTrie" ? null : "5.6",
            "BPF_MAP_LOOKUP_AND_DELETE_ELEM" => mapType is "Queue" or "Stack" ? "4.20" : "5.14",
            "BPF_MAP_FREEZE" => "5.2",
            _ => null,
        };
    }
}
