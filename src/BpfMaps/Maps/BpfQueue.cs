namespace BpfMaps;

/// <summary>
/// A typed view over a queue map (BPF_MAP_TYPE_QUEUE, Linux 4.20): first in, first out, elements of type
/// <typeparamref name="T"/>. The value size is checked once, here; each call then passes
/// <typeparamref name="T"/>'s bytes straight to <see cref="BpfMap.Push"/>, <see cref="BpfMap.TryPeek"/> or
/// <see cref="BpfMap.TryPop"/>. For stacks use <see cref="BpfStack{T}"/>.
/// </summary>
/// <typeparam name="T">Element type; its size must equal value_size.</typeparam>
#pragma warning disable CA1711 // a queue map: the kernel's own word
public sealed class BpfQueue<T>
#pragma warning restore CA1711
    where T : unmanaged
{
    /// <summary>Creates the view.</summary>
    /// <param name="map">A queue map (not owned: disposing the view is not needed).</param>
    /// <exception cref="ArgumentException">The map is not a queue, or value_size differs from <typeparamref name="T"/>'s size; the message names both.</exception>
    public BpfQueue(BpfMap map)
    {
        Keyless.Check<T>(map, MapType.Queue, nameof(BpfQueue<T>));
        Map = map;
    }

    /// <summary>The untyped map.</summary>
    public BpfMap Map { get; }

    /// <summary>Appends <paramref name="value"/> at the tail (BPF_MAP_UPDATE_ELEM without a key).</summary>
    /// <param name="value">The element.</param>
    /// <param name="flags"><see cref="UpdateFlags.Any"/> (E2BIG when full) or <see cref="UpdateFlags.Exist"/> (when full, drop the head to make room).</param>
    /// <exception cref="ArgumentException">Flags other than Any or Exist.</exception>
    /// <exception cref="BpfException">E2BIG: full; EPERM: frozen or read-only.</exception>
    public void Push(in T value, UpdateFlags flags = UpdateFlags.Any) => Map.Push(Keyless.Bytes(in value), flags);

    /// <summary>Reads the head, the oldest element, without removing it (BPF_MAP_LOOKUP_ELEM without a key).</summary>
    /// <param name="value">The head when the queue is not empty.</param>
    /// <returns>False when empty.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT.</exception>
    public bool TryPeek(out T value)
    {
        value = default;
        return Map.TryPeek(Keyless.Span(ref value));
    }

    /// <summary>Removes and returns the head, the oldest element (BPF_MAP_LOOKUP_AND_DELETE_ELEM without a key).</summary>
    /// <param name="value">The head when the queue was not empty.</param>
    /// <returns>False when empty.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT (EPERM: frozen or read-only).</exception>
    public bool TryPop(out T value)
    {
        value = default;
        return Map.TryPop(Keyless.Span(ref value));
    }
}
