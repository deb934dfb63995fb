namespace BpfMaps;

/// <summary>
/// A <see cref="MapSelector"/> matched no map: no map with the id, nothing (or something other than a
/// map) pinned at the path, or no map with the name. The message says which, in one line.
/// </summary>
public sealed class MapNotFoundException : BpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="selector">The selector that matched nothing.</param>
    /// <param name="errno">The errno that said so (ENOENT; EINVAL or EACCES for a path that holds no map pin).</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The kernel's refusal, or null.</param>
    public MapNotFoundException(MapSelector selector, int errno, string message, BpfException? innerException = null)
        : base(errno, innerException?.FailedCommand, null, null, message, innerException)
    {
        ArgumentNullException.ThrowIfNull(selector);
        Selector = selector;
    }

    /// <summary>The selector that matched nothing.</summary>
    public MapSelector Selector { get; }
}

/// <summary>A <see cref="MapSelector"/> that must name one map names several (<c>name</c> is not unique).</summary>
public sealed class AmbiguousMapSelectorException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="selector">The selector.</param>
    /// <param name="ids">The ids of the maps it matched.</param>
    public AmbiguousMapSelectorException(MapSelector selector, IReadOnlyList<uint> ids)
        : base($"name '{selector?.Value}' matches {ids?.Count} maps (ids {string.Join(", ", ids ?? [])}); select one with id N")
    {
        ArgumentNullException.ThrowIfNull(selector);
        ArgumentNullException.ThrowIfNull(ids);
        Selector = selector;
        Ids = ids;
    }

    /// <summary>The selector.</summary>
    public MapSelector Selector { get; }

    /// <summary>The ids of the maps it matched, ascending.</summary>
    public IReadOnlyList<uint> Ids { get; }
}
