namespace BpfMaps;

/// <summary>BPF_MAP_CREATE <c>map_flags</c>.</summary>
[Flags]
#pragma warning disable CA1711 // "Flags" is the kernel's own word
public enum MapFlags : uint
#pragma warning restore CA1711
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_NO_PREALLOC: allocate hash elements on demand.</summary>
    NoPrealloc = 1 << 0,
    /// <summary>BPF_F_NO_COMMON_LRU: one LRU list per CPU instead of a shared one.</summary>
    NoCommonLru = 1 << 1,
    /// <summary>BPF_F_NUMA_NODE: honour numa_node.</summary>
    NumaNode = 1 << 2,
    /// <summary>BPF_F_RDONLY: read-only for syscalls.</summary>
    ReadOnly = 1 << 3,
    /// <summary>BPF_F_WRONLY: write-only for syscalls.</summary>
    WriteOnly = 1 << 4,
    /// <summary>BPF_F_STACK_BUILD_ID.</summary>
    StackBuildId = 1 << 5,
    /// <summary>BPF_F_ZERO_SEED: hash with seed 0, so bucket order is reproducible (5.0).</summary>
    ZeroSeed = 1 << 6,
    /// <summary>BPF_F_RDONLY_PROG: read-only for programs.</summary>
    ReadOnlyProg = 1 << 7,
    /// <summary>BPF_F_WRONLY_PROG: write-only for programs.</summary>
    WriteOnlyProg = 1 << 8,
    /// <summary>BPF_F_CLONE.</summary>
    Clone = 1 << 9,
    /// <summary>BPF_F_MMAPABLE.</summary>
    Mmapable = 1 << 10,
    /// <summary>BPF_F_PRESERVE_ELEMS.</summary>
    PreserveElems = 1 << 11,
    /// <summary>BPF_F_INNER_MAP: inner maps of differing max_entries are accepted.</summary>
    InnerMap = 1 << 12,
}

/// <summary>Flags for BPF_MAP_UPDATE_ELEM and BPF_MAP_UPDATE_BATCH.</summary>
[Flags]
#pragma warning disable CA1711
public enum UpdateFlags : ulong
#pragma warning restore CA1711
{
    /// <summary>BPF_ANY: create or overwrite.</summary>
    Any = 0,
    /// <summary>BPF_NOEXIST: create only; EEXIST if present.</summary>
    NoExist = 1,
    /// <summary>BPF_EXIST: overwrite only; ENOENT if absent.</summary>
    Exist = 2,
    /// <summary>BPF_F_LOCK: take the value's bpf_spin_lock (needs BTF with a spin lock in the value).</summary>
    Lock = 4,
}

/// <summary>Flags for lookups (<c>flags</c> of LOOKUP_ELEM, <c>elem_flags</c> of the batch commands).</summary>
[Flags]
#pragma warning disable CA1711
public enum LookupFlags : ulong
#pragma warning restore CA1711
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_LOCK: copy the value under its bpf_spin_lock.</summary>
    Lock = 4,
}
