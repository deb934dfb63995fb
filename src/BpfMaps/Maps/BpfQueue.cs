namespace BpfMaps;

/// <summary>
/// A typed view over a queue map (BPF_MAP_TYPE_QUEUE, Linux 4.20): first in, first out. Push
/// appends at the tail; peek and pop see the head, the oldest element. For stacks use <see cref="BpfStack{T}"/>.
/// </summary>
/// <typeparam name="T">Element type; its size must equal value_size.</typeparam>
#pragma warning disable CA1711 // a queue map: the kernel's own word
public sealed class BpfQueue<T> : BpfKeylessMap<T>
#pragma warning restore CA1711
    where T : unmanaged
{
    /// <summary>Creates the view.</summary>
    /// <param name="map">A queue map (not owned: disposing the view is not needed).</param>
    /// <exception cref="ArgumentException">The map is not a queue, or value_size differs from <typeparamref name="T"/>'s size; the message names both.</exception>
    public BpfQueue(BpfMap map)
        : base(map, MapType.Queue, nameof(BpfQueue<T>))
    {
    }
}
