namespace BpfMaps;

/// <summary>The errno values the bpf() map commands return, with their names.</summary>
public static class Errno
{
#pragma warning disable CS1591, CA1707 // kernel names are their own documentation
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int E2BIG = 7;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int ENOTDIR = 20;
    public const int EINVAL = 22;
    public const int EMFILE = 24;
    public const int ENOSPC = 28;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;
    public const int EOPNOTSUPP = 95;
    /// <summary>The kernel-internal "operation not supported" (not in libc headers), returned by batch ops a map type lacks.</summary>
    public const int ENOTSUPP = 524;
#pragma warning restore CS1591, CA1707

    /// <summary>The symbolic name of an errno, e.g. <c>ENOENT</c>; <c>errno N</c> for unknown values.</summary>
    /// <param name="errno">A positive errno.</param>
    /// <returns>The name.</returns>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        E2BIG => "E2BIG",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        ENOTDIR => "ENOTDIR",
        EMFILE => "EMFILE",
        ENAMETOOLONG => "ENAMETOOLONG",
        EINVAL => "EINVAL",
        ENOSPC => "ENOSPC",
        ENOSYS => "ENOSYS",
        ELOOP => "ELOOP",
        EOPNOTSUPP => "EOPNOTSUPP",
        ENOTSUPP => "ENOTSUPP",
        _ => $"errno {errno}",
    };
}
