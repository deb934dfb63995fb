namespace BpfMaps;

/// <summary>What to create with BPF_MAP_CREATE.</summary>
public sealed record MapSpec
{
    /// <summary>The map type.</summary>
    public required MapType Type { get; init; }

    /// <summary>Key size in bytes (4 for arrays; 0 for queue/stack).</summary>
    public required int KeySize { get; init; }

    /// <summary>Value size in bytes (4 for map-in-map: the inner map fd/id).</summary>
    public required int ValueSize { get; init; }

    /// <summary>Maximum number of entries.</summary>
    public required int MaxEntries { get; init; }

    /// <summary>Creation flags.</summary>
    public MapFlags Flags { get; init; }

    /// <summary>Name, at most 15 ASCII characters (letters, digits, '_' and '.').</summary>
    public string? Name { get; init; }

    /// <summary>Template inner map for <see cref="MapType.ArrayOfMaps"/> and <see cref="MapType.HashOfMaps"/>.</summary>
    public BpfMap? InnerMap { get; init; }

    /// <summary>NUMA node, with <see cref="MapFlags.NumaNode"/>.</summary>
    public uint NumaNode { get; init; }

    /// <summary>BTF object describing key and value, or null.</summary>
    public Btf.BtfObject? Btf { get; init; }

    /// <summary>BTF type id of the key (with <see cref="Btf"/>).</summary>
    public uint BtfKeyTypeId { get; init; }

    /// <summary>BTF type id of the value (with <see cref="Btf"/>).</summary>
    public uint BtfValueTypeId { get; init; }

    /// <summary>
    /// For <see cref="MapType.StructOps"/> maps: the value's type id in the kernel's BTF (vmlinux), such as
    /// <c>bpf_struct_ops_tcp_congestion_ops</c> (<c>btf_vmlinux_value_type_id</c>, Linux 5.6). The map also needs <see cref="Btf"/>.
    /// </summary>
    public uint BtfVmlinuxValueTypeId { get; init; }

    /// <summary>Type-specific extra (<c>map_extra</c>), e.g. hash count for bloom filters.</summary>
    public ulong MapExtra { get; init; }
}

/// <summary>What BPF_OBJ_GET_INFO_BY_FD reports about a map (<c>struct bpf_map_info</c>).</summary>
/// <param name="Type">The map type.</param>
/// <param name="Id">The system-wide map id.</param>
/// <param name="KeySize">Key size in bytes.</param>
/// <param name="ValueSize">Value size in bytes (per CPU for per-CPU maps).</param>
/// <param name="MaxEntries">Maximum number of entries.</param>
/// <param name="Flags">Creation flags.</param>
/// <param name="Name">Map name (may be empty).</param>
/// <param name="BtfId">BTF object id, or 0.</param>
/// <param name="BtfKeyTypeId">BTF key type id, or 0.</param>
/// <param name="BtfValueTypeId">BTF value type id, or 0.</param>
/// <param name="IfIndex">Offload device, or 0.</param>
/// <param name="MapExtra">map_extra.</param>
/// <param name="BtfVmlinuxValueTypeId">For struct_ops maps, the value's type id in vmlinux's BTF, or 0.</param>
public sealed record MapInfo(
    MapType Type,
    uint Id,
    int KeySize,
    int ValueSize,
    int MaxEntries,
    MapFlags Flags,
    string Name,
    uint BtfId = 0,
    uint BtfKeyTypeId = 0,
    uint BtfValueTypeId = 0,
    uint IfIndex = 0,
    ulong MapExtra = 0,
    uint BtfVmlinuxValueTypeId = 0);
