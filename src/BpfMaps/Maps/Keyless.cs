using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>The construction check and byte views the keyless typed views share.</summary>
internal static class Keyless
{
    public static void Check<T>(BpfMap map, MapType type, string view)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Type != type)
        {
            BpfErrors.ThrowArgument(nameof(map), $"{view}<{typeof(T).Name}> needs a {type.KernelName()} map, but map '{map.Name}' (id {map.Id}) is {map.Type.KernelName()}");
        }

        int size = Unsafe.SizeOf<T>();
        if (size != map.ValueSize)
        {
            BpfErrors.ThrowArgument(nameof(map), $"typed view {view}<{typeof(T).Name}> has {size}-byte elements, but map '{map.Name}' has value_size {map.ValueSize}");
        }
    }

    public static ReadOnlySpan<byte> Bytes<T>(in T value)
        where T : unmanaged
        => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value));

    public static Span<byte> Span<T>(ref T value)
        where T : unmanaged
        => MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1));
}
