using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>Writes the types <c>btf dump</c> prints, in bpftool's raw format, as they come.</summary>
internal interface IBtfTypeRenderer : IDisposable
{
    /// <summary>Starts the output.</summary>
    void Begin();

    /// <summary>Writes one type with every field of its kind.</summary>
    /// <param name="type">The type; id 0 (void) is written as bpftool writes it, kind UNKNOWN.</param>
    void Type(BtfType type);

    /// <summary>Ends the output and flushes it.</summary>
    void End();
}
