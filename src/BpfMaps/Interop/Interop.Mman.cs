using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>mmap, munmap, memfd_create and ftruncate: the memory of mmapable maps and ring buffers.</summary>
internal static unsafe partial class Mman
{
    /// <summary>PROT_NONE: the pages cannot be touched (a reservation).</summary>
    public const int ProtNone = 0;

    /// <summary>PROT_READ.</summary>
    public const int ProtRead = 1;

    /// <summary>PROT_WRITE.</summary>
    public const int ProtWrite = 2;

    /// <summary>MAP_SHARED: the only kind a BPF map accepts.</summary>
    public const int MapShared = 0x01;

    /// <summary>MAP_PRIVATE.</summary>
    public const int MapPrivate = 0x02;

    /// <summary>MAP_FIXED: replace whatever is mapped at the address (inside a reservation of our own).</summary>
    public const int MapFixed = 0x10;

    /// <summary>MAP_ANONYMOUS (the same value on x86, arm and riscv).</summary>
    public const int MapAnonymous = 0x20;

    /// <summary>MFD_CLOEXEC.</summary>
    public const uint MfdCloexec = 1;

    /// <summary>MAP_FAILED.</summary>
    public static readonly nint MapFailed = -1;

    /// <summary>mmap(addr, length, prot, flags, fd, offset); MAP_FAILED with errno set on failure.</summary>
    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    /// <summary>munmap(addr, length): 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    /// <summary>memfd_create(name, flags) (glibc 2.27, Linux 3.17): a descriptor, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    /// <summary>ftruncate(fd, length): 0, or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);
}
