using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>mmap and munmap, to copy /sys/kernel/btf/vmlinux in one go instead of a page per read.</summary>
internal static unsafe partial class Mman
{
    /// <summary>PROT_READ.</summary>
    public const int ProtRead = 0x1;

    /// <summary>MAP_PRIVATE: the only sharing /sys/kernel/btf/vmlinux accepts (Linux 6.16).</summary>
    public const int MapPrivate = 0x02;

    /// <summary>MAP_FAILED.</summary>
    public static readonly void* MapFailed = (void*)-1;

    /// <summary>mmap(addr, length, prot, flags, fd, offset).</summary>
    /// <returns>The mapping, or <see cref="MapFailed"/> with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Map(void* addr, nuint length, int prot, int flags, int fd, long offset);

    /// <summary>munmap(addr, length).</summary>
    /// <returns>0, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Unmap(void* addr, nuint length);
}
