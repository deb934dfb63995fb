namespace BpfMaps.Programs;

/// <summary>What BPF_OBJ_GET_INFO_BY_FD reports about a loaded program (a few fields of <c>struct bpf_prog_info</c>).</summary>
/// <param name="Id">The system-wide program id.</param>
/// <param name="Type">The program type.</param>
/// <param name="Name">The program name (may be empty).</param>
/// <param name="BtfId">The id of the BTF object the program was loaded with (its func and line info), or 0 (Linux 5.0).</param>
public sealed record ProgramInfo(uint Id, ProgramType Type, string Name, uint BtfId);
