using BpfMaps.Asm;

namespace BpfMaps.Programs;

/// <summary>
/// Map references for the instruction builder: <see cref="InstructionBuilder"/> only encodes and knows a
/// map as a descriptor, so the map classes are bridged to it here, above both.
/// </summary>
public static class MapLoads
{
    /// <summary>
    /// <c>dst = map</c>: the map's descriptor is filled in at load time while its handle is held, so it
    /// cannot be closed or reused in between (<see cref="InstructionBuilder.LoadMap(Register, System.Runtime.InteropServices.SafeHandle, string?)"/>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dst">Destination register.</param>
    /// <param name="map">A kernel map.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The map has no kernel descriptor (an in-process map).</exception>
    public static InstructionBuilder LoadMap(this InstructionBuilder builder, Register dst, BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(map);
        System.Runtime.InteropServices.SafeHandle handle = map.Handle
            ?? throw new ArgumentException($"map '{map.Name}' has no kernel descriptor; programs can only use kernel maps", nameof(map));
        return builder.LoadMap(dst, handle, map.Name);
    }
}
