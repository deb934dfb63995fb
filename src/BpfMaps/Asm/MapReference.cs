using System.Runtime.InteropServices;

namespace BpfMaps.Asm;

/// <summary>
/// A 64-bit immediate load that refers to a map: at load time the map's descriptor is written into
/// the instruction's immediate (BPF_PSEUDO_MAP_FD), with the descriptor held open for the call.
/// </summary>
/// <remarks>
/// The encoder knows a map only as a descriptor: it never depends on the map classes. Programs
/// pass a <c>BpfMap</c> through the <c>LoadMap</c> extension in <c>BpfMaps.Programs</c>, which takes its handle.
/// </remarks>
/// <param name="Slot">Index of the first slot of the <c>ld_imm64</c> instruction.</param>
/// <param name="Map">The map's descriptor.</param>
/// <param name="Name">The map's name, for messages.</param>
public readonly record struct MapReference(int Slot, SafeHandle Map, string Name);
