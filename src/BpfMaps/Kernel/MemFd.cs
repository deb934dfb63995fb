using System.Runtime.InteropServices;

namespace BpfMaps.Kernel;

/// <summary>The raw tier over memfd_create: anonymous memory with a descriptor, to map more than once.</summary>
internal static class MemFd
{
    /// <summary>memfd_create("bpfmaps-ring", MFD_CLOEXEC) and ftruncate to <paramref name="size"/> bytes.</summary>
    /// <param name="size">Bytes.</param>
    /// <param name="memfd">The descriptor; null on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int Create(nuint size, out MemFdHandle? memfd)
    {
        memfd = null;
        int fd = Interop.Mman.MemfdCreate("bpfmaps-ring", Interop.Mman.MfdCloexec);
        if (fd < 0)
        {
            return Marshal.GetLastSystemError();
        }

        var handle = new MemFdHandle();
        handle.Adopt(fd);
        if (Interop.Mman.Ftruncate(fd, (long)size) != 0)
        {
            int err = Marshal.GetLastSystemError();
            handle.Dispose();
            return err;
        }

        memfd = handle;
        return 0;
    }
}
