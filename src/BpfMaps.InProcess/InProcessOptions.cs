namespace BpfMaps.InProcess;

/// <summary>Options of <see cref="InProcessMap.Create"/>.</summary>
public sealed record InProcessOptions
{
    /// <summary>The shared defaults: random seed, the machine's possible CPUs.</summary>
    public static InProcessOptions Default { get; } = new();

    /// <summary>
    /// The hash seed (the kernel's <c>hashrnd</c>). Null picks a random one, as the kernel does;
    /// <see cref="MapFlags.ZeroSeed"/> forces 0 whatever is set here.
    /// </summary>
    public uint? Seed { get; init; }

    /// <summary>
    /// How many CPUs per-CPU values are laid out for. Null uses <see cref="BpfMaps.PossibleCpus.Count"/>,
    /// like the kernel; tests set other counts to exercise the layout.
    /// </summary>
    public int? PossibleCpus { get; init; }

    /// <summary>
    /// The most storage, in bytes, one map may preallocate (1 GiB unless set). The engine allocates room for
    /// <c>max_entries</c> elements when the map is created, also with <see cref="MapFlags.NoPrealloc"/>, so a
    /// spec whose storage would exceed this is refused with ENOMEM at BPF_MAP_CREATE's allocation step, where
    /// a kernel that allocates hash elements lazily accepts it. Raise it for larger maps; the largest a map
    /// can hold is still bounded by .NET's array size (about 2 GiB per table).
    /// </summary>
    public long MemoryLimit { get; init; } = 1L << 30;
}
