namespace BpfMaps.Asm;

/// <summary>
/// A 64-bit immediate load that refers to a map: at load time the map's descriptor is written into
/// the instruction's immediate (BPF_PSEUDO_MAP_FD), with the descriptor held open for the call.
/// </summary>
/// <param name="Slot">Index of the first slot of the <c>ld_imm64</c> instruction.</param>
/// <param name="Map">The referenced map.</param>
public readonly record struct MapReference(int Slot, BpfMap Map);
