namespace BpfMaps;

/// <summary>The kernel's <c>enum bpf_map_type</c>, with .NET names.</summary>
public enum MapType : uint
{
    /// <summary>BPF_MAP_TYPE_UNSPEC.</summary>
    Unspecified = 0,
    /// <summary>BPF_MAP_TYPE_HASH.</summary>
    Hash = 1,
    /// <summary>BPF_MAP_TYPE_ARRAY.</summary>
    Array = 2,
    /// <summary>BPF_MAP_TYPE_PROG_ARRAY.</summary>
    ProgramArray = 3,
    /// <summary>BPF_MAP_TYPE_PERF_EVENT_ARRAY.</summary>
    PerfEventArray = 4,
    /// <summary>BPF_MAP_TYPE_PERCPU_HASH.</summary>
    PerCpuHash = 5,
    /// <summary>BPF_MAP_TYPE_PERCPU_ARRAY.</summary>
    PerCpuArray = 6,
    /// <summary>BPF_MAP_TYPE_STACK_TRACE.</summary>
    StackTrace = 7,
    /// <summary>BPF_MAP_TYPE_CGROUP_ARRAY.</summary>
    CgroupArray = 8,
    /// <summary>BPF_MAP_TYPE_LRU_HASH.</summary>
    LruHash = 9,
    /// <summary>BPF_MAP_TYPE_LRU_PERCPU_HASH.</summary>
    LruPerCpuHash = 10,
    /// <summary>BPF_MAP_TYPE_LPM_TRIE.</summary>
    LpmTrie = 11,
    /// <summary>BPF_MAP_TYPE_ARRAY_OF_MAPS.</summary>
    ArrayOfMaps = 12,
    /// <summary>BPF_MAP_TYPE_HASH_OF_MAPS.</summary>
    HashOfMaps = 13,
    /// <summary>BPF_MAP_TYPE_DEVMAP.</summary>
    DevMap = 14,
    /// <summary>BPF_MAP_TYPE_SOCKMAP.</summary>
    SockMap = 15,
    /// <summary>BPF_MAP_TYPE_CPUMAP.</summary>
    CpuMap = 16,
    /// <summary>BPF_MAP_TYPE_XSKMAP.</summary>
    XskMap = 17,
    /// <summary>BPF_MAP_TYPE_SOCKHASH.</summary>
    SockHash = 18,
    /// <summary>BPF_MAP_TYPE_CGROUP_STORAGE.</summary>
    CgroupStorage = 19,
    /// <summary>BPF_MAP_TYPE_REUSEPORT_SOCKARRAY.</summary>
    ReuseportSockArray = 20,
    /// <summary>BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE.</summary>
    PerCpuCgroupStorage = 21,
    /// <summary>BPF_MAP_TYPE_QUEUE.</summary>
    Queue = 22,
    /// <summary>BPF_MAP_TYPE_STACK.</summary>
    Stack = 23,
    /// <summary>BPF_MAP_TYPE_SK_STORAGE.</summary>
    SkStorage = 24,
    /// <summary>BPF_MAP_TYPE_DEVMAP_HASH.</summary>
    DevMapHash = 25,
    /// <summary>BPF_MAP_TYPE_STRUCT_OPS.</summary>
    StructOps = 26,
    /// <summary>BPF_MAP_TYPE_RINGBUF.</summary>
    RingBuf = 27,
    /// <summary>BPF_MAP_TYPE_INODE_STORAGE.</summary>
    InodeStorage = 28,
    /// <summary>BPF_MAP_TYPE_TASK_STORAGE.</summary>
    TaskStorage = 29,
    /// <summary>BPF_MAP_TYPE_BLOOM_FILTER.</summary>
    BloomFilter = 30,
    /// <summary>BPF_MAP_TYPE_USER_RINGBUF.</summary>
    UserRingBuf = 31,
    /// <summary>BPF_MAP_TYPE_CGRP_STORAGE.</summary>
    CgrpStorage = 32,
    /// <summary>BPF_MAP_TYPE_ARENA.</summary>
    Arena = 33,
}

/// <summary>Facts about map types that the public tier needs.</summary>
public static class MapTypeExtensions
{
    /// <summary>Whether values are stored once per possible CPU.</summary>
    /// <param name="type">The map type.</param>
    /// <returns>True for the per-CPU types.</returns>
    public static bool IsPerCpu(this MapType type)
        => type is MapType.PerCpuHash or MapType.PerCpuArray or MapType.LruPerCpuHash or MapType.PerCpuCgroupStorage;

    /// <summary>Whether the map is one of the kernel's htab family (bucketed, bucket-index batch cursor).</summary>
    /// <param name="type">The map type.</param>
    /// <returns>True for hash, percpu_hash, lru_hash, lru_percpu_hash and hash_of_maps.</returns>
    public static bool IsHashTable(this MapType type)
        => type is MapType.Hash or MapType.PerCpuHash or MapType.LruHash or MapType.LruPerCpuHash or MapType.HashOfMaps;

    /// <summary>Whether the map is an array (fixed u32 index keys, no delete).</summary>
    /// <param name="type">The map type.</param>
    /// <returns>True for array, percpu_array and array_of_maps.</returns>
    public static bool IsArray(this MapType type)
        => type is MapType.Array or MapType.PerCpuArray or MapType.ArrayOfMaps;

    /// <summary>Whether values are inner maps (written as fds, read back as map ids).</summary>
    /// <param name="type">The map type.</param>
    /// <returns>True for array_of_maps and hash_of_maps.</returns>
    public static bool IsMapInMap(this MapType type) => type is MapType.ArrayOfMaps or MapType.HashOfMaps;

    /// <summary>The kernel's lower-case name, as bpftool prints it (e.g. <c>percpu_hash</c>).</summary>
    /// <param name="type">The map type.</param>
    /// <returns>The name, or <c>type N</c> for unknown values.</returns>
    public static string KernelName(this MapType type) => type switch
    {
        MapType.Unspecified => "unspec",
        MapType.Hash => "hash",
        MapType.Array => "array",
        MapType.ProgramArray => "prog_array",
        MapType.PerfEventArray => "perf_event_array",
        MapType.PerCpuHash => "percpu_hash",
        MapType.PerCpuArray => "percpu_array",
        MapType.StackTrace => "stack_trace",
        MapType.CgroupArray => "cgroup_array",
        MapType.LruHash => "lru_hash",
        MapType.LruPerCpuHash => "lru_percpu_hash",
        MapType.LpmTrie => "lpm_trie",
        MapType.ArrayOfMaps => "array_of_maps",
        MapType.HashOfMaps => "hash_of_maps",
        MapType.DevMap => "devmap",
        MapType.SockMap => "sockmap",
        MapType.CpuMap => "cpumap",
        MapType.XskMap => "xskmap",
        MapType.SockHash => "sockhash",
        MapType.CgroupStorage => "cgroup_storage",
        MapType.ReuseportSockArray => "reuseport_sockarray",
        MapType.PerCpuCgroupStorage => "percpu_cgroup_storage",
        MapType.Queue => "queue",
        MapType.Stack => "stack",
        MapType.SkStorage => "sk_storage",
        MapType.DevMapHash => "devmap_hash",
        MapType.StructOps => "struct_ops",
        MapType.RingBuf => "ringbuf",
        MapType.InodeStorage => "inode_storage",
        MapType.TaskStorage => "task_storage",
        MapType.BloomFilter => "bloom_filter",
        MapType.UserRingBuf => "user_ringbuf",
        MapType.CgrpStorage => "cgrp_storage",
        MapType.Arena => "arena",
        _ => $"type {(uint)type}",
    };

    /// <summary>Parses a kernel map type name (<c>hash</c>, <c>percpu_array</c>, ...).</summary>
    /// <param name="name">The kernel name.</param>
    /// <param name="type">The parsed type.</param>
    /// <returns>True when the name is known.</returns>
    public static bool TryParseKernelName(string name, out MapType type)
    {
        foreach (MapType t in Enum.GetValues<MapType>())
        {
            if (t.KernelName() == name)
            {
                type = t;
                return true;
            }
        }

        type = MapType.Unspecified;
        return false;
    }
}
