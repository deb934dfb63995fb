using BpfMaps.Kernel;

namespace BpfMaps;

public sealed partial class BpfMap
{
    /// <summary>Whether the map is an array created with <see cref="MapFlags.Mmapable"/>, whose memory <see cref="OpenMemory"/> maps.</summary>
    public bool IsMmapable => Type == MapType.Array && (Info.Flags & MapFlags.Mmapable) != 0;

    /// <summary>
    /// Maps the memory of an array created with <see cref="MapFlags.Mmapable"/> (mmap of the map, BPF_F_MMAPABLE
    /// since Linux 5.5): its elements as spans, read and written with no syscall. In-process arrays hand out
    /// their own memory, with the same rules.
    /// </summary>
    /// <param name="writable">Map for writing too. A frozen map can only be mapped read-only, and while a writable
    /// mapping is open the map cannot be frozen.</param>
    /// <returns>The memory; dispose it to unmap.</returns>
    /// <exception cref="ArgumentException">The map is not an array created with <see cref="MapFlags.Mmapable"/>.</exception>
    /// <exception cref="BpfException">The kernel refused: EPERM for a writable mapping of a frozen map, EACCES for a writable
    /// mapping of a <see cref="MapFlags.ReadOnlyProg"/> map.</exception>
    public MapMemory OpenMemory(bool writable = true)
    {
        if (!IsMmapable)
        {
            throw new ArgumentException(Type == MapType.Array
                ? $"{this} was created without BPF_F_MMAPABLE (MapFlags.Mmapable), so it has no memory to map; create the array with that flag (Linux 5.5)"
                : $"{this} is not an array; only arrays created with BPF_F_MMAPABLE (MapFlags.Mmapable) expose their memory (ring buffers: Events.RingBuffer)");
        }

        int err = MapArrayOrErrno(writable, out MappedRegion? region);
        if (err != 0)
        {
            throw new BpfException(err, KernelCall.Mmap, err switch
            {
                Errno.EPERM when writable => "the map is frozen, so it can only be mapped read-only (OpenMemory(writable: false))",
                Errno.EACCES when writable => "the map is read-only for programs (BPF_F_RDONLY_PROG), so it can only be mapped read-only",
                _ => BpfErrors.DefaultHint(err, null),
            });
        }

        return new MapMemory(region!, MaxEntries, ValueSize);
    }

    /// <summary>The raw mapping of an mmapable array's elements (shared with the dump's memory path): 0 or errno.</summary>
    internal int MapArrayOrErrno(bool writable, out MappedRegion? region)
    {
        region = null;
        if (DelegatingMapBackend.Innermost(_backend) is not IMapMemoryBackend memory)
        {
            return Errno.ENOTSUPP;
        }

        long bytes = (long)MaxEntries * PossibleCpus.Stride(ValueSize);
        long page = Environment.SystemPageSize;
        return memory.MapMemory(0, (bytes + page - 1) / page * page, writable, out region);
    }
}
