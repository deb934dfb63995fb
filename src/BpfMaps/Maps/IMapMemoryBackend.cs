using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// The memory side of a backend, beside the map commands of <see cref="IMapBackend"/>: mmap of the map
/// (BPF_F_MMAPABLE arrays, ring buffers) and something to wait on for readiness (poll). The kernel backend
/// mmaps and dups its descriptor; the in-process engine hands out views of its own memory and an eventfd
/// its producers signal. Both give the kernel's errno for the same request.
/// </summary>
/// <remarks>
/// Public so that a backend in another assembly (the in-process engine) can implement it; it is a seam for
/// backend implementers, not for applications. The regions are raw memory: only the public tier
/// (<see cref="MapMemory"/>, <see cref="Events.RingBuffer"/>, <see cref="Events.UserRingBuffer"/>) turns them
/// into spans, bounded by the map's sizes.
/// </remarks>
public interface IMapMemoryBackend
{
    /// <summary>
    /// mmap(NULL, <paramref name="length"/>, PROT_READ [| PROT_WRITE], MAP_SHARED, map, <paramref name="offset"/>).
    /// </summary>
    /// <param name="offset">Byte offset, a multiple of the page size.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="writable">Map for writing too.</param>
    /// <param name="region">The region, owned by the caller; null on failure.</param>
    /// <returns>0 or errno: ENOTSUPP (no mmap for this map), EINVAL (a window outside the map), EPERM (a writable
    /// mapping of a frozen map or of a part the kernel keeps read-only), EACCES (writable, BPF_F_RDONLY_PROG).</returns>
    int MapMemory(long offset, long length, bool writable, out MappedRegion? region);

    /// <summary>
    /// A descriptor, owned by the caller, that epoll reports ready as the map's poll does: EPOLLIN when a ring
    /// buffer holds data. The kernel backend dups the map's descriptor; the engine an eventfd, which the waiter
    /// resets after each wake (<see cref="EventFdHandle"/>).
    /// </summary>
    /// <param name="handle">The descriptor; null on failure.</param>
    /// <returns>0 or errno.</returns>
    int OpenPollHandle(out SafeHandle? handle);
}
