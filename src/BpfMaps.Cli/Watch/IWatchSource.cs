namespace BpfMaps.Cli.Watch;

/// <summary>Receives one entry of a watch tick: the key and its value as one number.</summary>
/// <param name="key">The key bytes.</param>
/// <param name="value">The value (per-CPU values reduced).</param>
internal delegate void WatchSink(ReadOnlySpan<byte> key, double value);

/// <summary>
/// Where <c>watch</c> reads from each tick: a dump (values are totals), a drain (values are what
/// arrived since the last tick), or a swap drain of a double-buffered counter map. The seam where the
/// demo plugs in its writers' map.
/// </summary>
internal interface IWatchSource : IDisposable
{
    /// <summary>What is being watched, for the header.</summary>
    string Description { get; }

    /// <summary>Whether each read returns increments (drain) rather than running totals (dump).</summary>
    bool YieldsIncrements { get; }

    /// <summary>Reads the map once.</summary>
    /// <param name="sink">Receives each entry.</param>
    void Read(WatchSink sink);
}

/// <summary>Reads a map with a batched dump or drain each tick.</summary>
/// <param name="map">The map (owned).</param>
/// <param name="drain">Drain instead of dump.</param>
/// <param name="layout">How values become numbers.</param>
internal sealed class MapWatchSource(BpfMap map, bool drain, Output.EntryLayout layout) : IWatchSource
{
    /// <inheritdoc />
    public string Description => $"{map.Type.KernelName()} map {map.Id} '{map.Name}' ({(drain ? "drained" : "dumped")} each tick)";

    /// <inheritdoc />
    public bool YieldsIncrements => drain;

    /// <inheritdoc />
    public void Read(WatchSink sink)
    {
        int ks = map.KeySize, vs = map.ValueBufferSize;
        using MapEnumerator e = drain ? map.Drain().GetEnumerator() : map.Dump().GetEnumerator();
        while (e.MoveNextBatch())
        {
            ReadOnlySpan<byte> keys = e.BatchKeys, values = e.BatchValues;
            for (int i = 0; i < e.BatchCount; i++)
            {
                sink(keys.Slice(i * ks, ks), layout.Number(values.Slice(i * vs, vs)) ?? 0);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => map.Dispose();
}

/// <summary>Passes on only the entries whose key starts with <c>--key-prefix</c>.</summary>
/// <param name="inner">The source (owned).</param>
/// <param name="prefix">The key prefix.</param>
internal sealed class PrefixWatchSource(IWatchSource inner, byte[] prefix) : IWatchSource
{
    /// <inheritdoc />
    public string Description => $"{inner.Description}, keys starting {Output.Hex.Spaced(prefix)}";

    /// <inheritdoc />
    public bool YieldsIncrements => inner.YieldsIncrements;

    /// <inheritdoc />
    public void Read(WatchSink sink) => inner.Read((key, value) =>
    {
        if (key.StartsWith(prefix))
        {
            sink(key, value);
        }
    });

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();
}
