using BpfMaps.Cli.Errors;
using BpfMaps.Btf;
using BpfMaps.Programs;

namespace BpfMaps.Cli.Input;

/// <summary>
/// <c>event_pipe --type NAME</c>: the BTF type records are formatted by, looked up by name in the map's own BTF
/// object and then in the BTF of every program that uses the map (ring buffers and perf event arrays rarely carry
/// key and value types, but the programs that write them were loaded with BTF that describes what they write).
/// <c>struct NAME</c>, <c>union NAME</c> and <c>enum NAME</c> choose the kind; a bare name takes the first type that
/// can hold a value (not a function, variable, section or forward declaration).
/// </summary>
internal static class RecordType
{
    /// <summary>Finds and compiles the type.</summary>
    /// <param name="map">The map being read.</param>
    /// <param name="name">The name, optionally with its kind.</param>
    /// <returns>The formatter.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadBtf"/> when no BTF there has such a type, or it cannot be printed.</exception>
    public static BtfFormatter Resolve(BpfMap map, string name)
    {
        (BtfKind? kind, string bare) = Split(name);
        var searched = new List<string>();
        foreach ((uint btfId, string where) in Sources(map))
        {
            BtfSpec spec;
            try
            {
                spec = BtfSpec.LoadById(btfId);
            }
            catch (BpfException e) when (e.Errno == Errno.ENOENT)
            {
                continue; // freed meanwhile
            }

            searched.Add(where);
            foreach (uint id in spec.FindTypes(bare))
            {
                BtfKind k = spec.TypeById(id).Kind;
                if (kind is { } wanted ? k == wanted : HoldsAValue(k))
                {
                    try
                    {
                        return BtfFormatter.Compile(spec, id);
                    }
                    catch (BtfException e)
                    {
                        throw new CliException(ExitCode.BadBtf, $"event_pipe: --type {name}: type {id} of {where} cannot be printed: {e.Message}");
                    }
                }
            }
        }

        throw new CliException(ExitCode.BadBtf, searched.Count == 0
            ? $"event_pipe: --type {name}: {map.Type.KernelName()} map {map.Id} has no BTF, and no program that uses it was loaded with BTF"
            : $"event_pipe: --type {name}: no such type in {string.Join(" or ", searched)}");
    }

    private static IEnumerable<(uint BtfId, string Where)> Sources(BpfMap map)
    {
        var seen = new HashSet<uint>();
        if (map.Info.BtfId != 0 && seen.Add(map.Info.BtfId))
        {
            yield return (map.Info.BtfId, $"the map's BTF (id {map.Info.BtfId})");
        }

        foreach (ProgramInfo p in BpfProgram.ListProgramsUsingMap(map.Id))
        {
            if (p.BtfId != 0 && seen.Add(p.BtfId))
            {
                yield return (p.BtfId, $"the BTF of program {p.Id}{(p.Name.Length > 0 ? $" '{p.Name}'" : "")} (id {p.BtfId})");
            }
        }
    }

    private static (BtfKind? Kind, string Name) Split(string name)
    {
        string[] parts = name.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 2)
        {
            BtfKind? kind = parts[0] switch
            {
                "struct" => BtfKind.Struct,
                "union" => BtfKind.Union,
                "enum" => BtfKind.Enum,
                _ => null,
            };
            if (kind is not null)
            {
                return (kind, parts[1]);
            }
        }

        return (null, name.Trim());
    }

    private static bool HoldsAValue(BtfKind k)
        => k is BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Typedef or BtfKind.Int or BtfKind.Float or BtfKind.Array;
}
