using BpfMaps.Btf;

namespace BpfMaps.Cli.Inspection;

/// <summary>
/// Everything <c>btf show</c> prints about a BTF object: the kernel's info, the programs and maps whose
/// info names it (bpftool finds them the same way, by walking every program and map), and the processes
/// holding a descriptor of it.
/// </summary>
/// <param name="Info">BPF_OBJ_GET_INFO_BY_FD on the BTF object.</param>
/// <param name="ProgramIds">Programs whose <c>btf_id</c> is this object, ascending.</param>
/// <param name="MapIds">Maps whose <c>btf_id</c> is this object, ascending.</param>
/// <param name="Holders">Other processes holding a descriptor of it.</param>
internal sealed record BtfDetails(BtfObjectInfo Info, IReadOnlyList<uint> ProgramIds, IReadOnlyList<uint> MapIds, IReadOnlyList<ObjectHolder> Holders);
