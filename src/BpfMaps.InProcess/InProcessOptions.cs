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
}
