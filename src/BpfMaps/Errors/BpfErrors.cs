using System.Diagnostics.CodeAnalysis;

namespace BpfMaps;

/// <summary>The single errno-to-exception switch and the throw helpers.</summary>
internal static class BpfErrors
{
    /// <summary>The usual cause of <paramref name="errno"/> from <paramref name="command"/> (null for a call other than bpf()).</summary>
    public static string? DefaultHint(int errno, BpfCommand? command) => errno switch
    {
        // The kernel answers EACCES for any path that is not a BPF object (a regular file, a directory, another file system).
        Errno.EACCES when command == BpfCommand.BPF_OBJ_GET => "not a pinned BPF object (pins live on a bpffs mount), or permission denied: needs root or CAP_BPF",
        Errno.EPERM when command == BpfCommand.BPF_OBJ_PIN => "pins must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf), or permission denied: needs root or CAP_BPF",
        Errno.EPERM or Errno.EACCES => "permission denied: needs root or CAP_BPF (CAP_SYS_ADMIN on older kernels)",
        Errno.ENOENT when command == BpfCommand.BPF_PROG_GET_FD_BY_ID => "no program with that id",
        Errno.ENOENT when command == BpfCommand.BPF_MAP_GET_FD_BY_ID => "no map with that id",
        Errno.ENOENT when command == BpfCommand.BPF_OBJ_GET => "nothing is pinned at that path",
        Errno.ENOENT when command == BpfCommand.BPF_OBJ_PIN => "the directory to pin in does not exist",
        Errno.ENOENT => "no such element",
        Errno.EBADF => "the descriptor is closed or is not a BPF object",
        Errno.EINVAL when command == BpfCommand.BPF_OBJ_GET_INFO_BY_FD => "the descriptor is not a BPF object",
        Errno.EINVAL when command == BpfCommand.BPF_OBJ_PIN => "is the path on a bpffs mount (mount -t bpf bpf /sys/fs/bpf)?",
        Errno.EINVAL => "invalid argument: wrong size, flags, or an operation this map type does not take",
        Errno.E2BIG when command == BpfCommand.BPF_MAP_CREATE => "a size past the kernel's limits (key, value or max_entries too large)",
        Errno.E2BIG when command == BpfCommand.BPF_PROG_LOAD => "the program is too large",
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
    public static BpfException Create(int errno, BpfCommand command, MapType? mapType = null)
    {
        if (errno is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            string feature = mapType is null ? command.ToString() : $"{command} on {mapType}";
            return new BpfNotSupportedException(feature, MinimumKernelFor(command, mapType), errno, command);
        }

        return new BpfException(errno, command);
    }

    /// <summary>Maps an errno from a call other than bpf() to the exception the public tier throws.</summary>
    public static BpfException Create(int errno, KernelCall call, MapType? mapType = null)
    {
        if (errno is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            string feature = mapType is null ? call.SystemName() : $"{call.SystemName()} on {mapType}";
            return new BpfNotSupportedException(feature, null, errno);
        }

        return new BpfException(errno, call, DefaultHint(errno, null));
    }

    /// <summary>Throws the exception for <paramref name="errno"/>.</summary>
    [DoesNotReturn]
    public static void Throw(int errno, BpfCommand command, MapType? mapType = null) => throw Create(errno, command, mapType);

    /// <summary>Throws the exception for <paramref name="errno"/> from a call other than bpf().</summary>
    [DoesNotReturn]
    public static void Throw(int errno, KernelCall call, MapType? mapType = null) => throw Create(errno, call, mapType);

    [DoesNotReturn]
    public static void ThrowBatch(int errno, BpfCommand command, int? processed, MapType? mapType)
    {
        if (errno is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            Throw(errno, command, mapType);
        }

        throw new BpfBatchException(errno, command, processed);
    }

    [DoesNotReturn]
    public static void ThrowSize(string paramName, string what, int got, int expected)
        => throw new MapSizeMismatchException($"{what} is {got} bytes but the map expects {expected} bytes", paramName, expected, got);

    [DoesNotReturn]
    public static void ThrowSize(string paramName, int got, int expected, string message)
        => throw new MapSizeMismatchException(message, paramName, expected, got);

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

    private static string? MinimumKernelFor(BpfCommand command, MapType? mapType)
    {
        // Where no kernel implements the op for this map type there is no minimum to name.
        if (mapType is MapType.Array or MapType.PerCpuArray or MapType.ArrayOfMaps
            && command is BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH or BpfCommand.BPF_MAP_DELETE_BATCH or BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM)
        {
            return null;
        }

        if (mapType is MapType.BloomFilter && command is BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM)
        {
            return null;
        }

        return command switch
        {
            BpfCommand.BPF_MAP_LOOKUP_BATCH or BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH or BpfCommand.BPF_MAP_UPDATE_BATCH or BpfCommand.BPF_MAP_DELETE_BATCH
                => mapType is MapType.PerCpuArray ? "5.13" : mapType is MapType.LpmTrie ? null : "5.6",
            BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM => mapType is MapType.Queue or MapType.Stack ? "4.20" : "5.14",
            BpfCommand.BPF_MAP_FREEZE => "5.2",
            _ => null,
        };
    }
}
