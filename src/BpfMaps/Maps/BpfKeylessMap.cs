namespace BpfMaps;

/// <summary>
/// What <see cref="BpfQueue{T}"/> and <see cref="BpfStack{T}"/> share: a typed view over a map
/// without keys whose elements are <typeparamref name="T"/>. The map type and value size are
/// checked once, at construction; each call then passes <typeparamref name="T"/>'s bytes straight
/// to <see cref="BpfMap.Push"/>, <see cref="BpfMap.TryPeek"/> or <see cref="BpfMap.TryPop"/>.
/// Which element peek and pop see is the map type's: a queue's head (the oldest), a stack's top (the newest).
/// </summary>
/// <typeparam name="T">Element type; its size must equal value_size.</typeparam>
public abstract class BpfKeylessMap<T>
    where T : unmanaged
{
    private protected BpfKeylessMap(BpfMap map, MapType type, string view)
    {
        Keyless.Check<T>(map, type, view);
        Map = map;
    }

    /// <summary>The untyped map.</summary>
    public BpfMap Map { get; }

    /// <summary>Adds <paramref name="value"/> (BPF_MAP_UPDATE_ELEM without a key): at a queue's tail, on a stack's top.</summary>
    /// <param name="value">The element.</param>
    /// <param name="flags"><see cref="UpdateFlags.Any"/> (E2BIG when full) or <see cref="UpdateFlags.Exist"/> (when full, drop the oldest element to make room).</param>
    /// <exception cref="ArgumentException">Flags other than Any or Exist.</exception>
    /// <exception cref="BpfException">E2BIG: full; EPERM: frozen or read-only.</exception>
    public void Push(in T value, UpdateFlags flags = UpdateFlags.Any) => Map.Push(Keyless.Bytes(in value), flags);

    /// <summary>Reads the element <see cref="TryPop"/> would return, without removing it (BPF_MAP_LOOKUP_ELEM without a key).</summary>
    /// <param name="value">The element when the map is not empty.</param>
    /// <returns>False when empty.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT.</exception>
    public bool TryPeek(out T value)
    {
        value = default;
        return Map.TryPeek(Keyless.Span(ref value));
    }

    /// <summary>Removes and returns the next element (BPF_MAP_LOOKUP_AND_DELETE_ELEM without a key).</summary>
    /// <param name="value">The element when the map was not empty.</param>
    /// <returns>False when empty.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT (EPERM: frozen or read-only).</exception>
    public bool TryPop(out T value)
    {
        value = default;
        return Map.TryPop(Keyless.Span(ref value));
    }
}
