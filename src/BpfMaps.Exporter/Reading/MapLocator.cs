namespace BpfMaps.Exporter.Reading;

/// <summary>
/// Finds a configured map through its <see cref="MapSelector"/>, and finds it again each cycle: a pin may
/// come to name a new map, and for a name the newest map with it replaces the old one. Holds the map that
/// is open. Failing to open is reported as a <see cref="MapReadException"/> with the reason <c>missing</c>
/// or <c>kernel</c>.
/// </summary>
internal sealed class MapLocator(MapSelector selector) : IDisposable
{
    private BpfMap? _map;

    /// <summary>The map currently open, or null.</summary>
    public BpfMap? Map => _map;

    /// <summary>
    /// Resolves the selector again: the map to adopt (the first one, or the one that replaced the open one),
    /// which the caller hands to <see cref="Replace"/> or disposes; null when the open map is still the one.
    /// </summary>
    /// <exception cref="MapReadException">The map is missing (<c>missing</c>) or cannot be opened (<c>kernel</c>).</exception>
    public BpfMap? FindChanged()
    {
        if (selector.Kind == MapSelectorKind.Id)
        {
            // Holding the descriptor keeps the map alive, so an id never goes away under us.
            return _map is null ? Open(selector.OpenOne) : null;
        }

        // Re-resolve every cycle: the pin may now name a new map, and for a name the newest map with it
        // replaces the old one (a reloaded program's map).
        BpfMap current = Open(selector.Kind == MapSelectorKind.Pinned ? selector.OpenOne : selector.OpenNewest);
        if (_map is not null && current.Id == _map.Id)
        {
            current.Dispose();
            return null;
        }

        return current;
    }

    /// <summary>Makes <paramref name="map"/> the open map, closing the previous one; whether there was one.</summary>
    public bool Replace(BpfMap map)
    {
        bool replaced = _map is not null;
        Close();
        _map = map;
        return replaced;
    }

    /// <summary>Closes the open map; the next <see cref="FindChanged"/> opens it again.</summary>
    public void Close()
    {
        _map?.Dispose();
        _map = null;
    }

    public void Dispose() => Close();

    private static BpfMap Open(Func<BpfMap> open)
    {
        try
        {
            return open();
        }
        catch (MapNotFoundException e)
        {
            throw new MapReadException("missing", "map", e.Message, e);
        }
        catch (BpfException e)
        {
            throw new MapReadException("kernel", "map", e.Message, e);
        }
    }
}
