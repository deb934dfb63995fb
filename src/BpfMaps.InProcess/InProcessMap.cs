using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using BpfMaps.Btf;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess;

/// <summary>
/// Creates maps that live in this process but behave like kernel maps: the same buckets, hash,
/// iteration order, batch cursors and errno, so <see cref="BpfMap"/>, the typed views,
/// <see cref="BpfMap.Dump"/> and <see cref="BpfMap.Drain"/> run unchanged on them.
/// </summary>
/// <remarks>
/// <para>Types: hash, percpu_hash, lru_hash, lru_percpu_hash, array, percpu_array, hash_of_maps,
/// array_of_maps, ringbuf and user_ringbuf (their producer and consumer sides: <see cref="InProcessRingBuffer"/>). Inner maps of map-in-map types must be in-process maps; the u32 written as the
/// value is the inner map's id (what <see cref="BpfMap.SetInnerMap"/> writes), and lookups return it.
/// In-process ids come from a process-wide table starting at 0x40000000. An id plays the part of a
/// descriptor: it names its map while a handle of the map is open, and a value that names no such map is
/// answered as the kernel answers that descriptor number (EINVAL if this process has it open, else EBADF).</para>
/// <para>Storage for max_entries elements is allocated when the map is created, also with
/// <see cref="MapFlags.NoPrealloc"/>; a map that would need more than <see cref="InProcessOptions.MemoryLimit"/>
/// is refused with ENOMEM.</para>
/// <para>LRU maps evict the entry least recently updated (lookups do not count, as with the
/// syscall). The kernel's per-CPU free lists may evict earlier and other entries; what both
/// guarantee is that the map never holds more than max_entries and that a key just written is there.</para>
/// <para>BTF comes as <see cref="MapSpec.BtfTypes"/> (<see cref="MapSpec.For{TKey, TValue}"/> fills it): the
/// engine makes BPF_MAP_CREATE's BTF checks (sizes, a u32 key for arrays, none for map-in-map), keeps the
/// BTF and hands it back from <see cref="BpfMap.GetBtf"/>, so <see cref="BpfMap.GetBtfFormatter"/> and the
/// typed views' BTF check work without bpf(). The map's <see cref="MapInfo.BtfId"/> is an engine id. A
/// loaded kernel <see cref="MapSpec.Btf"/> object is not accepted. Values carry no bpf_spin_lock, so
/// BPF_F_LOCK is refused with EINVAL, and BTF whose value holds a field the kernel treats specially (a
/// spin lock, timer, kptr…) is not supported.</para>
/// </remarks>
public static class InProcessMap
{
    private const MapFlags Access = MapFlags.ReadOnly | MapFlags.WriteOnly | MapFlags.ReadOnlyProg | MapFlags.WriteOnlyProg;
    private const MapFlags HashFlags = MapFlags.NoPrealloc | MapFlags.NoCommonLru | MapFlags.NumaNode | Access | MapFlags.ZeroSeed;
    private const MapFlags ArrayFlags = MapFlags.NumaNode | MapFlags.Mmapable | Access | MapFlags.InnerMap | MapFlags.PreserveElems;
    private const MapFlags TokenFd = (MapFlags)(1u << 16);
    private const int PcpuMinUnitSize = 32768;

    // KMALLOC_MAX_SIZE (x86-64, 4 KiB pages: order-10 pages) and sizeof(struct htab_elem) on 64-bit kernels.
    private const long KmallocMaxSize = 4L << 20;
    private const long HtabElemSize = 48;

    // sizeof(struct bucket): an hlist_nulls_head and a lock.
    private const uint BucketSize = 16;

    /// <summary>Creates an in-process map, checking <paramref name="spec"/> as BPF_MAP_CREATE would.</summary>
    /// <param name="spec">What to create. <see cref="MapSpec.InnerMap"/> must be an in-process map.</param>
    /// <param name="options">Seed, CPU count and memory limit; null for the defaults.</param>
    /// <returns>A map over an <see cref="InProcessMapBackend"/>; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The spec is inconsistent (name, negative sizes, a kernel inner map).</exception>
    /// <exception cref="BpfException">The kernel would refuse the spec: EINVAL (bad sizes or flags, a type number without
    /// map ops), E2BIG (too large), ENOTSUPP (no-prealloc LRU), EBADF (a closed inner map template); or ENOMEM, when its
    /// storage would exceed <see cref="InProcessOptions.MemoryLimit"/>.</exception>
    /// <exception cref="NotSupportedException">A map type the kernel has and the engine does not implement, or a feature it lacks (a kernel BTF object, special BTF fields).</exception>
    public static BpfMap Create(MapSpec spec, InProcessOptions? options = null) => new(CreateBackend(spec, options));

    /// <summary>Like <see cref="Create"/>, but returns the backend itself (for raw-tier use).</summary>
    /// <param name="spec">What to create.</param>
    /// <param name="options">Options, or null.</param>
    /// <returns>The backend; dispose it, or hand it to <see cref="BpfMap(IMapBackend)"/>.</returns>
    /// <exception cref="ArgumentException">The spec is inconsistent.</exception>
    /// <exception cref="BpfException">The kernel would refuse the spec, or ENOMEM past <see cref="InProcessOptions.MemoryLimit"/>.</exception>
    /// <exception cref="NotSupportedException">An unsupported map type, a kernel BTF object, or special BTF fields.</exception>
    public static InProcessMapBackend CreateBackend(MapSpec spec, InProcessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= InProcessOptions.Default;
        BpfMap.ValidateSpec(spec);
        if (spec.Btf is not null)
        {
            throw new NotSupportedException("in-process maps cannot use a BTF object loaded into the kernel; give the BTF as MapSpec.BtfTypes instead (MapSpec.For builds it from C# types)");
        }

        int cpus = options.PossibleCpus ?? PossibleCpus.Count;
        if (cpus <= 0)
        {
            BpfErrors.ThrowArgument(nameof(options), $"possible CPU count {cpus} must be positive");
        }

        if (spec.Type is MapType.RingBuf or MapType.UserRingBuf)
        {
            return CreateRing(spec);
        }

        // Types the engine lacks are refused before anything else, so they never read as specs the kernel refuses.
        if (Enum.IsDefined(spec.Type) && spec.Type != MapType.Unspecified && !spec.Type.IsHashTable() && !spec.Type.IsArray())
        {
            throw Unsupported(spec.Type);
        }

        // The template is resolved first, as BpfMap.Create takes a lease on its descriptor before the syscall.
        MapInfo? inner = null;
        if (spec.InnerMap is { } innerMap)
        {
            InProcessMapBackend template = Unwrap(innerMap.Backend)
                ?? throw new ArgumentException($"the inner map of an in-process map must be an in-process map, not {innerMap}", nameof(spec));
            inner = template.Core?.Info ?? throw BpfErrors.Create(Errno.EBADF, BpfCommand.BPF_MAP_CREATE, spec.Type);
        }

        long maxEntries = spec.MaxEntries;
        if ((spec.Flags & MapFlags.NoCommonLru) != 0 && spec.Type is MapType.LruHash or MapType.LruPerCpuHash)
        {
            // Each CPU gets its own share of elements: the kernel rounds max_entries up to a multiple of the
            // CPUs, or down when rounding up leaves u32.
            long up = (maxEntries + cpus - 1) / cpus * cpus;
            maxEntries = up <= uint.MaxValue ? up : maxEntries / cpus * cpus;
        }

        int valueBuffer = 0;
        int err = Check(spec);
        if (err == 0)
        {
            valueBuffer = spec.Type.IsPerCpu() ? PossibleCpus.Stride(spec.ValueSize) * cpus : spec.ValueSize;
            err = CheckAlloc(spec, inner, maxEntries, valueBuffer, options.MemoryLimit);
        }

        if (err == 0)
        {
            err = MapBtf.Check(spec);
        }

        if (err != 0)
        {
            throw BpfErrors.Create(err, BpfCommand.BPF_MAP_CREATE, spec.Type);
        }

        // The BTF is kept when the spec names types in it, as the kernel keeps map->btf; its id comes from the
        // engine's own sequence, as a kernel BTF object's comes from the BTF IDR.
        BtfSpec? btf = (spec.BtfKeyTypeId | spec.BtfValueTypeId) != 0 ? spec.BtfTypes : null;
        var info = new MapInfo(spec.Type, ObjectTable.NextId(), spec.KeySize, spec.ValueSize, (int)maxEntries,
            spec.Flags & ~(MapFlags.ReadOnly | MapFlags.WriteOnly), spec.Name ?? "",
            BtfId: btf is null ? 0 : ObjectTable.NextBtfId(), BtfKeyTypeId: btf is null ? 0 : spec.BtfKeyTypeId, BtfValueTypeId: btf is null ? 0 : spec.BtfValueTypeId);
        MapFlags access = spec.Flags & (MapFlags.ReadOnly | MapFlags.WriteOnly);
        MapCore core;
        try
        {
            if (spec.Type.IsArray())
            {
                core = new ArrayTable(info, cpus, valueBuffer) { InnerTemplate = inner, Access = access, Btf = btf };
            }
            else
            {
                uint seed = (spec.Flags & MapFlags.ZeroSeed) != 0 ? 0 : options.Seed ?? (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
                core = spec.Type is MapType.Hash or MapType.PerCpuHash
                    ? new InlineHashTable(info, cpus, valueBuffer, seed) { Access = access, Btf = btf }
                    : new HashTable(info, cpus, valueBuffer, seed) { InnerTemplate = inner, Access = access, Btf = btf };
            }
        }
        catch (OutOfMemoryException)
        {
            throw BpfErrors.Create(Errno.ENOMEM, BpfCommand.BPF_MAP_CREATE, spec.Type);
        }

        ObjectTable.Add(core);
        return new InProcessMapBackend(core);
    }

    /// <summary>
    /// ringbuf_map_alloc: key and value size 0, max_entries a power of two and a multiple of the page size, no flags
    /// but BPF_F_NUMA_NODE (node 0 here). The engine stops at 1 GiB (ENOMEM); the kernel at 64 GiB (E2BIG).
    /// </summary>
    private static InProcessMapBackend CreateRing(MapSpec spec)
    {
        long max = spec.MaxEntries;
        int err = (spec.Flags & ~MapFlags.NumaNode) != 0 || spec.KeySize != 0 || spec.ValueSize != 0 || spec.MapExtra != 0
            || max <= 0 || (max & (max - 1)) != 0 || max % Environment.SystemPageSize != 0 || spec.NumaNode != 0
            || (spec.BtfKeyTypeId | spec.BtfValueTypeId) != 0
            ? Errno.EINVAL
            : max > 1 << 30 ? Errno.ENOMEM : 0;
        var info = new MapInfo(spec.Type, ObjectTable.NextId(), 0, 0, spec.MaxEntries, spec.Flags, spec.Name ?? "");
        RingTable? table = null;
        if (err == 0)
        {
            err = RingTable.Create(info, out table);
        }

        if (err != 0)
        {
            throw BpfErrors.Create(err, BpfCommand.BPF_MAP_CREATE, spec.Type);
        }

        ObjectTable.Add(table!);
        return new InProcessMapBackend(table!);
    }

    /// <summary>Whether <paramref name="map"/> runs on the in-process engine.</summary>
    /// <param name="map">A map.</param>
    /// <returns>True for in-process maps.</returns>
    public static bool IsInProcess(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return Unwrap(map.Backend) is not null;
    }

    /// <summary>The engine's backend under any decorators, or null for a kernel map.</summary>
    internal static InProcessMapBackend? Unwrap(IMapBackend backend) => DelegatingMapBackend.Innermost(backend) as InProcessMapBackend;

    /// <summary>
    /// Adds <paramref name="delta"/> to the u32 or u64 counter at <paramref name="key"/> atomically,
    /// creating it with value <paramref name="delta"/> (BPF_NOEXIST semantics) when missing. It takes the
    /// same bucket lock as <see cref="BpfMap.LookupAndDeleteBatch"/>, so writers racing a
    /// <see cref="BpfMap.Drain"/> lose nothing: every add lands in a drained value or in the map.
    /// Per-CPU maps add to the current CPU's slot. What a BPF program's <c>__sync_fetch_and_add</c> on a
    /// looked-up value does for a kernel map.
    /// </summary>
    /// <param name="map">An in-process map whose value_size is 4 or 8.</param>
    /// <param name="key">key_size bytes.</param>
    /// <param name="delta">What to add (wrapping).</param>
    /// <exception cref="ArgumentException">Not an in-process map, a value that is not 4 or 8 bytes, a map-in-map, or a wrong key size.</exception>
    /// <exception cref="BpfException">E2BIG: a hash map is full, or an array index is past the end; EPERM: the map is frozen.</exception>
    public static void AtomicAdd(BpfMap map, ReadOnlySpan<byte> key, ulong delta)
    {
        InProcessMapBackend backend = Backend(map);
        map.CheckKey(key);
        if (map.Type.IsMapInMap() || map.ValueSize is not (4 or 8))
        {
            BpfErrors.ThrowArgument(nameof(map), $"atomic add needs a u32 or u64 value, but {map} has value_size {map.ValueSize}");
        }

        int err = backend.AtomicAdd(key, delta);
        if (err != 0)
        {
            BpfErrors.Throw(err, KernelCall.AtomicAdd, map.Type);
        }
    }

    /// <summary>Typed form of <see cref="AtomicAdd(BpfMap, ReadOnlySpan{byte}, ulong)"/> for u64 counters.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <param name="map">A typed view over an in-process map.</param>
    /// <param name="key">The key.</param>
    /// <param name="delta">What to add.</param>
    /// <exception cref="ArgumentException">Not an in-process map.</exception>
    /// <exception cref="BpfException">E2BIG when full; EPERM when frozen.</exception>
    public static void AtomicAdd<TKey>(this BpfMap<TKey, ulong> map, in TKey key, ulong delta) where TKey : unmanaged
    {
        ArgumentNullException.ThrowIfNull(map);
        AtomicAdd(map.Map, MemoryMarshal.AsBytes(new ReadOnlySpan<TKey>(in key)), delta);
    }

    private static InProcessMapBackend Backend(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return Unwrap(map.Backend)
            ?? throw new ArgumentException($"{map} is a kernel map; atomic add is for in-process maps (kernel maps need a BPF program)", nameof(map));
    }

    /// <summary>
    /// map_create's checks in kernel/bpf/syscall.c and the types' map_alloc_check (hashtab.c, arraymap.c), in
    /// their order, up to the allocation: BTF ids, map_extra, access flags, the NUMA node, the type, then the
    /// type's own limits, then the token.
    /// </summary>
    private static int Check(MapSpec spec)
    {
        // map_create refuses a BTF key type without a value type (or vmlinux value type ids off struct_ops)
        // before anything else about the map.
        if (MapBtf.CheckIds(spec) is var btfIds and not 0)
        {
            return btfIds;
        }

        // The token flag is taken off before the type's checks see the flags, and used after them.
        MapFlags f = spec.Flags & ~TokenFd;
        if ((f & MapFlags.ReadOnly) != 0 && (f & MapFlags.WriteOnly) != 0)
        {
            return Errno.EINVAL;
        }

        // map_extra belongs to bloom filters and arenas. numa_node counts only with BPF_F_NUMA_NODE, and
        // then it must name an online node: the engine has no placement, so it accepts node 0 only.
        if (spec.MapExtra != 0 || ((f & MapFlags.NumaNode) != 0 && spec.NumaNode != 0))
        {
            return Errno.EINVAL;
        }

        // No map ops for the type: unspecified, or a number this kernel's uapi does not name.
        if (!spec.Type.IsHashTable() && !spec.Type.IsArray())
        {
            return Errno.EINVAL;
        }

        bool accessOk = (f & MapFlags.ReadOnlyProg) == 0 || (f & MapFlags.WriteOnlyProg) == 0;
        bool numa = (f & MapFlags.NumaNode) != 0;
        bool percpu = spec.Type.IsPerCpu();
        if (spec.Type.IsHashTable())
        {
            if (spec.Type == MapType.HashOfMaps && spec.ValueSize != 4)
            {
                return Errno.EINVAL;
            }

            bool lru = spec.Type is MapType.LruHash or MapType.LruPerCpuHash;
            bool percpuLru = (f & MapFlags.NoCommonLru) != 0;
            if ((f & ~HashFlags) != 0 || !accessOk)
            {
                return Errno.EINVAL;
            }

            if (!lru && percpuLru)
            {
                return Errno.EINVAL;
            }

            if (lru && (f & MapFlags.NoPrealloc) != 0)
            {
                return Errno.ENOTSUPP;
            }

            if (numa && (percpu || percpuLru))
            {
                return Errno.EINVAL;
            }

            if (spec.MaxEntries == 0 || spec.KeySize == 0 || spec.ValueSize == 0)
            {
                return Errno.EINVAL;
            }

            // The element (a struct htab_elem header, the key and the value) must stay kmalloc-able.
            if ((long)spec.KeySize + spec.ValueSize >= KmallocMaxSize - HtabElemSize)
            {
                return Errno.E2BIG;
            }

            if (percpu && RoundUp8(spec.ValueSize) > PcpuMinUnitSize)
            {
                return Errno.E2BIG;
            }
        }
        else
        {
            if (spec.Type == MapType.ArrayOfMaps && (spec.ValueSize != 4 || (f & (MapFlags.ReadOnlyProg | MapFlags.WriteOnlyProg)) != 0))
            {
                return Errno.EINVAL;
            }

            if (spec.MaxEntries == 0 || spec.KeySize != 4 || spec.ValueSize == 0 || (f & ~ArrayFlags) != 0 || !accessOk || (percpu && numa))
            {
                return Errno.EINVAL;
            }

            if (spec.Type != MapType.Array && (f & (MapFlags.Mmapable | MapFlags.InnerMap)) != 0)
            {
                return Errno.EINVAL;
            }

            if ((f & MapFlags.PreserveElems) != 0)
            {
                return Errno.EINVAL;
            }

            if (percpu && RoundUp8(spec.ValueSize) > PcpuMinUnitSize)
            {
                return Errno.E2BIG;
            }
        }

        // BPF_F_TOKEN_FD names a BPF token by map_token_fd, which a MapSpec leaves 0: descriptor 0 is no token.
        return (spec.Flags & TokenFd) != 0 ? Errno.EINVAL : 0;
    }

    /// <summary>
    /// What the type's map_alloc refuses: a map-in-map template (bpf_map_meta_alloc), a hash table too large
    /// to index (htab_map_alloc), and storage the engine will not preallocate (its <see cref="InProcessOptions.MemoryLimit"/>).
    /// </summary>
    private static int CheckAlloc(MapSpec spec, MapInfo? inner, long maxEntries, int valueBuffer, long memoryLimit)
    {
        if (spec.Type.IsMapInMap() && inner is not null && inner.Type.IsMapInMap())
        {
            // A map-in-map cannot be the inner map of another.
            return Errno.EINVAL;
        }

        if (spec.Type.IsHashTable())
        {
            // Buckets are a power of two, and their array (16 bytes each) must be indexable by u32.
            if (maxEntries > 1L << 31 || (long)BitOperations.RoundUpToPowerOf2((ulong)maxEntries) > uint.MaxValue / BucketSize)
            {
                return Errno.E2BIG;
            }
        }

        int max = (int)maxEntries;
        long bytes = spec.Type switch
        {
            MapType.Hash or MapType.PerCpuHash => InlineHashTable.StorageBytes(spec.KeySize, valueBuffer, max),
            MapType.Array or MapType.PerCpuArray or MapType.ArrayOfMaps => ArrayTable.StorageBytes(valueBuffer, max),
            _ => HashTable.StorageBytes(spec.KeySize, valueBuffer, max, spec.Type is MapType.LruHash or MapType.LruPerCpuHash),
        };
        return bytes > memoryLimit ? Errno.ENOMEM : 0;
    }

    private static long RoundUp8(int n) => ((long)n + 7) & ~7L;

    private static NotSupportedException Unsupported(MapType type) => new(
        $"the in-process engine implements hash, percpu_hash, lru_hash, lru_percpu_hash, array, percpu_array, hash_of_maps, array_of_maps, ringbuf and user_ringbuf, not {type.KernelName()}");
}
