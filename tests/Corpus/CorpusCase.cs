namespace BpfMaps.Tests.Corpus;

/// <summary>One case of the catalog.</summary>
/// <param name="Topic">kind, layout, string, example or map.</param>
/// <param name="Case">What must be handled.</param>
/// <param name="Map">The corpus map (logical name) that covers it.</param>
/// <param name="Member">A struct member or variable in that map's BTF that shows it, or null when the whole map does.</param>
/// <param name="Kind">A BTF kind (bpftool's name) the map's BTF must contain, or null.</param>
public sealed record CorpusCase(string Topic, string Case, string Map, string? Member, string? Kind)
{
    /// <summary>What bpftool prints for it, where that is worth knowing.</summary>
    public string? Notes { get; init; }

    /// <summary>Why the toolchain cannot produce this case; null when the corpus covers it.</summary>
    public string? Gap { get; init; }

    public override string ToString() => $"{Topic}: {Case}";
}
