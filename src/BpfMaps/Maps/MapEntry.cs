namespace BpfMaps;

/// <summary>One entry of a dump: views into the enumerator's pooled buffers, valid until the next MoveNext.</summary>
public readonly ref struct MapEntry
{
    internal MapEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Key = key;
        Value = value;
    }

    /// <summary>The key bytes.</summary>
    public ReadOnlySpan<byte> Key { get; }

    /// <summary>The value bytes (every CPU's value for per-CPU maps; the inner map id for map-in-map).</summary>
    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>The enumerable <see cref="BpfMap.Dump"/> and <see cref="BpfMap.Drain"/> return; use with foreach.</summary>
public readonly struct MapEntries
{
    private readonly BpfMap _map;
    private readonly DumpOptions _options;
    private readonly bool _drain;

    internal MapEntries(BpfMap map, DumpOptions options, bool drain)
    {
        _map = map;
        _options = options;
        _drain = drain;
    }

    /// <summary>Starts the walk.</summary>
    /// <returns>An enumerator; dispose it (foreach does) to return its buffers.</returns>
    public MapEnumerator GetEnumerator() => new(_map, _options, _drain);
}
