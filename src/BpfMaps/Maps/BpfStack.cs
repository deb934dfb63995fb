namespace BpfMaps;

/// <summary>
/// A typed view over a stack map (BPF_MAP_TYPE_STACK, Linux 4.20): last in, first out. Push puts
/// an element on top; peek and pop see the top, the newest element. For queues use <see cref="BpfQueue{T}"/>.
/// </summary>
/// <typeparam name="T">Element type; its size must equal value_size.</typeparam>
#pragma warning disable CA1711 // a stack map: the kernel's own word
public sealed class BpfStack<T> : BpfKeylessMap<T>
#pragma warning restore CA1711
    where T : unmanaged
{
    /// <summary>Creates the view.</summary>
    /// <param name="map">A stack map (not owned: disposing the view is not needed).</param>
    /// <exception cref="ArgumentException">The map is not a stack, or value_size differs from <typeparamref name="T"/>'s size; the message names both.</exception>
    public BpfStack(BpfMap map)
        : base(map, MapType.Stack, nameof(BpfStack<T>))
    {
    }
}
