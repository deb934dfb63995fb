using BpfMaps.Programs;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Watch;

/// <summary>
/// Watches a double-buffered counter map (<see cref="SwapDrainMap"/>): each tick swaps the inner map
/// and drains the retired one, so counts written by live BPF programs are never lost.
/// </summary>
internal sealed class SwapDrainWatchSource : IWatchSource
{
    private readonly SwapDrainMap _map;
    private readonly bool _owns;

    /// <summary>Wraps the map.</summary>
    /// <param name="map">The swap-drain map.</param>
    /// <param name="description">What is watched.</param>
    /// <param name="owns">Dispose the map with the source.</param>
    public SwapDrainWatchSource(SwapDrainMap map, string description, bool owns)
    {
        _map = map;
        _owns = owns;
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public bool YieldsIncrements => true;

    /// <inheritdoc />
    public void Read(WatchSink sink) => _map.DrainCounters((key, total) => sink(key, total));

    /// <summary>
    /// Opens <paramref name="outer"/> as a swap-drain map when it is one: an array-of-maps with one
    /// slot whose inner map holds 8-byte counters. A fresh idle inner map is created; the active one
    /// is the one in slot 0.
    /// </summary>
    /// <param name="outer">The selected map (owned by the result, or disposed by the caller on null).</param>
    /// <returns>The source, or null when the map is not a double-buffered counter map.</returns>
    public static SwapDrainWatchSource? TryOpen(BpfMap outer)
    {
        if (outer.Type != MapType.ArrayOfMaps || outer.KeySize != 4 || outer.MaxEntries != 1)
        {
            return null;
        }

        Span<byte> id = stackalloc byte[4];
        if (!outer.TryLookup([0, 0, 0, 0], id))
        {
            throw new CliException(ExitCode.Usage, $"watch: slot 0 of array_of_maps {outer.Id} is empty; there is nothing to drain");
        }

        using (BpfMap inner = BpfMap.OpenById(BitConverter.ToUInt32(id)))
        {
            if (inner.ValueSize != 8 || inner.Type.IsMapInMap())
            {
                return null;
            }
        }

        SwapDrainMap swap = SwapDrainMap.FromOuter(outer);
        return new SwapDrainWatchSource(swap, $"double-buffered counter map {outer.Id} (inner {swap.InnerType.KernelName()} {swap.Active.Id}; swap drain each tick)", owns: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_owns)
        {
            _map.Dispose();
        }
    }
}
