using System.Collections.Concurrent;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// The process-wide table of live in-process maps, keyed by id: what the kernel's map IDR and fd
/// table are for kernel maps. A map-in-map value written as u32 is looked up here (the "fd" of an
/// in-process map is its id). Ids start at 0x40000000 so they are not mistaken for kernel map ids.
/// </summary>
internal static class ObjectTable
{
    /// <summary>The first id handed out.</summary>
    public const uint FirstId = 0x4000_0000;

    private static readonly ConcurrentDictionary<uint, MapCore> s_maps = new();
    private static int s_lastId = (int)(FirstId - 1);
    private static int s_lastBtfId = (int)(FirstId - 1);

    public static uint NextId() => (uint)Interlocked.Increment(ref s_lastId);

    /// <summary>An id for a map's BTF: the kernel numbers BTF objects apart from maps, and so does the engine.</summary>
    public static uint NextBtfId() => (uint)Interlocked.Increment(ref s_lastBtfId);

    public static void Add(MapCore map) => s_maps[map.Id] = map;

    public static void Remove(uint id) => s_maps.TryRemove(id, out _);

    /// <summary>Finds a live map and takes a reference on it (the kernel's fd → map with a refcount).</summary>
    public static MapCore? Acquire(uint id)
        => s_maps.TryGetValue(id, out MapCore? map) && map.TryAddRef() ? map : null;

    /// <summary>Drops the reference an outer map held on the map with <paramref name="id"/>.</summary>
    public static void Release(uint id)
    {
        if (s_maps.TryGetValue(id, out MapCore? map))
        {
            map.Release();
        }
    }
}
