namespace BpfMaps;

/// <summary>
/// A typed view over a stack map (BPF_MAP_TYPE_STACK, Linux 4.20): last in, first out, elements of type
/// <typeparamref name="T"/>. The value size is checked once, here. For queues use <see cref="BpfQueue{T}"/>.
/// </summary>
/// <typeparam name="T">Element type; its size must equal value_size.</typeparam>
#pragma warning disable CA1711 // a stack map: the kernel's own word
public sealed class BpfStack<T>
#pragma warning restore CA1711
    where T : unmanaged
{
    /// <summary>Creates the view.</summary>
    /// <param name="map">A stack map (not owned: disposing the view is not needed).</param>
    /// <exception cref="ArgumentException">The map is not a stack, or value_size differs from <typeparamref name="T"/>'s size; the message names both.</exception>
    public BpfStack(BpfMap map)
    {
        Keyless.Check<T>(map, MapType.Stack, nameof(BpfStack<T>));
        Map = map;
    }

    /// <summary>The untyped map.</summary>
    public BpfMap Map { get; }

    /// <summary>Pushes <paramref name="value"/> on top (BPF_MAP_UPDATE_ELEM without a key).</summary>
    /// <param name="value">The element.</param>
    /// <param name="flags"><see cref="UpdateFlags.Any"/> (E2BIG when full) or <see cref="UpdateFlags.Exist"/> (when full, drop the bottom, the oldest element, to make room).</param>
    /// <exception cref="ArgumentException">Flags other than Any or Exist.</exception>
    /// <exception cref="BpfException">E2BIG: full; EPERM: frozen or read-only.</exception>
    public void Push(in T value, UpdateFlags flags = UpdateFlags.Any) => Map.Push(Keyless.Bytes(in value), flags);

    /// <summary>Reads the top, the newest element, without removing it (BPF_MAP_LOOKUP_ELEM without a key).</summary>
    /// <param name="value">The top when the stack is not empty.</param>
    /// <returns>False when empty.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT.</exception>
    public bool TryPeek(out T value)
    {
        value = default;
        return Map.TryPeek(Keyless.Span(ref value));
    }

    /// <summary>Removes and returns the top, the newest element (BPF_MAP_LOOKUP_AND_DELETE_ELEM without a key).</summary>
    /// <param name="value">The top when the stack was not empty.</param>
    /// <returns>False when empty.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT (EPERM: frozen or read-only).</exception>
    public bool TryPop(out T value)
    {
        value = default;
        return Map.TryPop(Keyless.Span(ref value));
    }
}
