using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// A double-buffered counter map that drains without losing updates from live BPF writers: an outer
/// BPF_MAP_TYPE_ARRAY_OF_MAPS with one slot, and two inner maps of the same spec. Programs reach the
/// current inner map through slot 0 of the outer map. <see cref="DoubleBufferedCounterMap.Drain"/> puts the idle inner map into
/// the slot and then drains the one it replaced.
/// </summary>
/// <remarks>
/// <para>
/// Why nothing is lost: BPF_MAP_UPDATE_ELEM on an ARRAY_OF_MAPS or HASH_OF_MAPS returns only after an
/// RCU grace period (the kernel waits for non-sleepable programs since map-in-map support, 4.12), so
/// every program run that fetched the old inner map has finished by then. Afterwards nothing writes the
/// retired map, and reading and deleting it is exact. Sleepable programs are not waited for.
/// </para>
/// <para>
/// The guarantee holds only if every writer reaches the inner maps through the outer map. A program
/// loaded elsewhere (libbpf, bpftool) can share the outer map through a pin (<see cref="Pin"/>,
/// <see cref="OpenPinned"/>); in BPF C it declares:
/// </para>
/// <code>
/// struct counters {
///     __uint(type, BPF_MAP_TYPE_HASH);        /* or PERCPU_HASH, LRU_HASH, ...: the inner spec */
///     __uint(max_entries, 1024);
///     __type(key, __u32);
///     __type(value, __u64);
/// };
/// struct {
///     __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
///     __uint(max_entries, 1);
///     __type(key, __u32);
///     __array(values, struct counters);
///     __uint(pinning, LIBBPF_PIN_BY_NAME);      /* reuse the pinned outer map */
/// } counter_slots SEC(".maps");
///
/// __u32 zero = 0;
/// void *inner = bpf_map_lookup_elem(&amp;counter_slots, &amp;zero);   /* once per run */
/// if (!inner) return 0;
/// __u64 *v = bpf_map_lookup_elem(inner, &amp;key);
/// if (v) __sync_fetch_and_add(v, 1);                         /* per-CPU inner maps: (*v)++ */
/// else bpf_map_update_elem(inner, &amp;key, &amp;one, BPF_NOEXIST); /* EEXIST: look up again */
/// </code>
/// <para>
/// One drainer at a time: the object remembers which inner map is idle, so two processes draining
/// the same pinned outer map would hand each other live maps. <see cref="DoubleBufferedCounterMap.Swap"/> checks that slot 0
/// still holds <see cref="DoubleBufferedCounterMap.Active"/> and throws otherwise; it cannot catch a swap that lands between
/// that check and its own update.
/// </para>
/// </remarks>
public sealed class SwapDrainMap : DoubleBufferedCounterMap
{
    private SwapDrainMap(BpfMap outer, BpfMap active, BpfMap idle)
        : base(outer, active, idle)
    {
    }

    /// <inheritdoc />
    public override string MethodName => "swap drain";

    /// <summary>
    /// Creates the outer map and two inner maps from <paramref name="innerSpec"/> (BPF_MAP_CREATE) and
    /// puts the first into slot 0. Needs Linux 4.12 (map-in-map); per-CPU inner maps work the same way.
    /// </summary>
    /// <param name="innerSpec">The spec of each inner map; not itself a map-in-map.</param>
    /// <param name="outerName">Name of the outer map (at most 15 characters), or null.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">The spec is a map-in-map or otherwise invalid.</exception>
    /// <exception cref="BpfException">The kernel refused a create or the slot update.</exception>
    public static SwapDrainMap Create(MapSpec innerSpec, string? outerName = null)
        => CreateMaps(innerSpec, outerName, BpfMap.Create, FromMaps);

    /// <summary>
    /// Builds a swap-drain map over existing maps and puts <paramref name="first"/> into slot 0. Takes
    /// ownership of all three. The maps may come from any backend whose map-in-map update waits, as the
    /// kernel's does, for writers that still see the old inner map.
    /// </summary>
    /// <param name="outer">A map-in-map with 4-byte keys.</param>
    /// <param name="first">The inner map to put in service.</param>
    /// <param name="second">The idle inner map; same type and sizes as <paramref name="first"/>, and empty.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">Mismatched maps.</exception>
    /// <exception cref="BpfException">The slot update failed (EINVAL when the inner map does not match the outer's template).</exception>
    public static SwapDrainMap FromMaps(BpfMap outer, BpfMap first, BpfMap second)
    {
        ArgumentNullException.ThrowIfNull(outer);
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (!outer.Type.IsMapInMap() || outer.KeySize != 4)
        {
            throw new ArgumentException($"the outer map must be a map-in-map with 4-byte keys, not {outer.Type} with {outer.KeySize}-byte keys", nameof(outer));
        }

        if (first.Type != second.Type || first.KeySize != second.KeySize || first.ValueSize != second.ValueSize || first.MaxEntries != second.MaxEntries)
        {
            throw new ArgumentException($"the inner maps differ: {first} and {second}", nameof(second));
        }

        if (ReferenceEquals(first, second))
        {
            throw new ArgumentException("the two inner maps must be distinct", nameof(second));
        }

        outer.SetInnerMap(SlotKey, first);
        return new SwapDrainMap(outer, first, second);
    }

    /// <summary>
    /// Opens a swap-drain map from its outer map pinned at <paramref name="path"/> (BPF_OBJ_GET): the
    /// active inner map is the one in slot 0 (opened by id, BPF_MAP_GET_FD_BY_ID), and a fresh idle
    /// inner map of the same type, sizes and flags is created.
    /// </summary>
    /// <param name="path">The pin path on a bpffs mount.</param>
    /// <returns>The map.</returns>
    /// <exception cref="InvalidOperationException">The pinned map is not a one-slot-usable map-in-map, or slot 0 is empty.</exception>
    /// <exception cref="BpfException">ENOENT: nothing pinned there; other kernel errors.</exception>
    public static SwapDrainMap OpenPinned(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BpfMap outer = BpfMap.OpenPinned(path);
        try
        {
            return FromOuter(outer);
        }
        catch
        {
            outer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a swap-drain map around an existing outer map (opened by pin, id or name): the active
    /// inner map is the one in slot 0 (opened by id, BPF_MAP_GET_FD_BY_ID), and a fresh idle inner map
    /// of the same type, sizes and flags is created.
    /// </summary>
    /// <param name="outer">The outer map; owned by the result on success, left to the caller on failure.</param>
    /// <returns>The map.</returns>
    /// <exception cref="InvalidOperationException">The map is not a map-in-map with 4-byte keys, or slot 0 is empty.</exception>
    /// <exception cref="BpfException">Kernel errors opening or creating the inner maps.</exception>
    public static SwapDrainMap FromOuter(BpfMap outer)
    {
        ArgumentNullException.ThrowIfNull(outer);
        if (!outer.Type.IsMapInMap() || outer.KeySize != 4)
        {
            throw new InvalidOperationException($"{outer} is not a map-in-map with 4-byte keys");
        }

        Span<byte> id = stackalloc byte[4];
        if (!outer.TryLookup(SlotKey, id))
        {
            throw new InvalidOperationException($"slot 0 of {outer} is empty; put an inner map there first");
        }

        BpfMap? active = BpfMap.OpenById(BitConverter.ToUInt32(id)), idle = null;
        try
        {
            MapInfo info = active.Info;
            idle = BpfMap.Create(new MapSpec
            {
                Type = info.Type,
                KeySize = info.KeySize,
                ValueSize = info.ValueSize,
                MaxEntries = info.MaxEntries,
                Flags = info.Flags,
                Name = info.Name.Length > 0 ? info.Name : null,
                MapExtra = info.MapExtra,
            });
            var map = new SwapDrainMap(outer, active, idle);
            active = idle = null;
            return map;
        }
        finally
        {
            idle?.Dispose();
            active?.Dispose();
        }
    }

    /// <summary>Pins the outer map at <paramref name="path"/> (BPF_OBJ_PIN) so other programs and processes can reach it.</summary>
    /// <param name="path">A path on a bpffs mount.</param>
    /// <exception cref="BpfException">EEXIST: something is pinned there; EPERM/EINVAL: not a bpffs path.</exception>
    public void Pin(string path) => Outer.Pin(path);

    /// <summary>
    /// BPF_MAP_UPDATE_ELEM on the outer map, which returns after an RCU grace period: once it returns, no
    /// non-sleepable program writes the map it replaced.
    /// </summary>
    /// <param name="incoming">The inner map to put into service.</param>
    protected override void Publish(BpfMap incoming) => Outer.SetInnerMap(SlotKey, incoming);

    /// <summary>Catches a second drainer (another process on the same pin) before retiring the wrong map.</summary>
    /// <param name="active">The map this drainer believes is in service.</param>
    protected override void BeforeSwap(BpfMap active)
    {
        Span<byte> current = stackalloc byte[4];
        if (Outer.TryLookup(SlotKey, current) && BitConverter.ToUInt32(current) is uint id && id != active.Id)
        {
            throw new InvalidOperationException(
                $"slot 0 holds map id {id}, not this drainer's active map id {active.Id}: another drainer swapped it; only one drainer may work on a swap-drain map");
        }
    }
}
