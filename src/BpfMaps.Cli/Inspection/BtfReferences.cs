using BpfMaps.Btf;
using BpfMaps.Programs;

namespace BpfMaps.Cli.Inspection;

/// <summary>Who refers to which BTF object, read once per <c>btf show</c>.</summary>
/// <param name="ProgramIds">BTF id to the programs loaded with it.</param>
/// <param name="MapIds">BTF id to the maps created with it.</param>
/// <param name="Holders">BTF id to the processes holding it.</param>
internal sealed record BtfReferences(
    IReadOnlyDictionary<uint, List<uint>> ProgramIds,
    IReadOnlyDictionary<uint, List<uint>> MapIds,
    IReadOnlyDictionary<uint, List<ObjectHolder>> Holders)
{
    /// <summary>Walks every program and map (BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID, BPF_OBJ_GET_INFO_BY_FD) and /proc.</summary>
    /// <returns>The references.</returns>
    public static BtfReferences Scan()
    {
        var programs = new Dictionary<uint, List<uint>>();
        foreach (ProgramInfo p in BpfProgram.ListSystemPrograms())
        {
            Add(programs, p.BtfId, p.Id);
        }

        var maps = new Dictionary<uint, List<uint>>();
        foreach (MapInfo m in BpfMap.ListSystemMaps())
        {
            Add(maps, m.BtfId, m.Id);
        }

        return new BtfReferences(programs, maps, ProcessScan.BtfHolders());
    }

    /// <summary>The details of one BTF object.</summary>
    /// <param name="info">Its info.</param>
    /// <returns>The details.</returns>
    public BtfDetails For(BtfObjectInfo info) => new(
        info,
        ProgramIds.TryGetValue(info.Id, out var p) ? p : [],
        MapIds.TryGetValue(info.Id, out var m) ? m : [],
        Holders.TryGetValue(info.Id, out var h) ? h : []);

    private static void Add(Dictionary<uint, List<uint>> table, uint btfId, uint objectId)
    {
        if (btfId == 0)
        {
            return;
        }

        if (!table.TryGetValue(btfId, out var list))
        {
            table[btfId] = list = [];
        }

        list.Add(objectId);
    }
}
