namespace BpfMaps.Cli.Output;

/// <summary>
/// Writes map entries in one output format, one entry at a time, so a dump streams: nothing is
/// kept after <see cref="Entry"/> returns. Dispose releases writers (after <see cref="End"/>, or on an error). Each format has its own implementation and its own tests.
/// </summary>
internal interface IEntryRenderer : IDisposable
{
    /// <summary>Called once before the first entry.</summary>
    void Begin();

    /// <summary>Writes one entry.</summary>
    /// <param name="key">The key bytes.</param>
    /// <param name="value">The value buffer (every CPU's value at the per-CPU stride).</param>
    void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Called once after the last entry; writes any footer and flushes.</summary>
    /// <param name="count">Entries written.</param>
    void End(long count);

    /// <summary>
    /// Called instead of <see cref="End"/> when the dump fails after <see cref="Begin"/>: ends the
    /// output so that what was written stays well-formed (bpftool closes its JSON array, with the
    /// error as the last element).
    /// </summary>
    /// <param name="message">The error line.</param>
    /// <returns>True when the error is now part of the output itself, so no separate JSON error object is written.</returns>
    bool Fail(string message) => false;
}
