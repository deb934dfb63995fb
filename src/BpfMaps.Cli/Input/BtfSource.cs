using System.Globalization;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Input;

/// <summary>Where <c>btf dump</c> reads BTF from: <c>id N</c>, <c>map MAP</c> or <c>file PATH</c>, as in bpftool.</summary>
internal enum BtfSourceKind
{
    /// <summary><c>id N</c>: a BTF object in the kernel.</summary>
    Id,

    /// <summary><c>map MAP [key|value|kv|all]</c>: the BTF a map was created with.</summary>
    Map,

    /// <summary><c>file PATH</c>: raw BTF or an ELF object's <c>.BTF</c> section.</summary>
    File,
}

/// <summary>Which types of a map's BTF <c>btf dump map MAP</c> prints.</summary>
internal enum BtfMapPart
{
    /// <summary><c>kv</c>, or no word: the key type, then the value type.</summary>
    KeyAndValue,

    /// <summary><c>key</c>: the key type.</summary>
    Key,

    /// <summary><c>value</c>: the value type.</summary>
    Value,

    /// <summary><c>all</c>: every type of the map's BTF object.</summary>
    All,
}

/// <summary>A parsed BTF source.</summary>
/// <param name="Kind">Which form.</param>
/// <param name="Id">The BTF id, for <see cref="BtfSourceKind.Id"/>.</param>
/// <param name="Map">The map, for <see cref="BtfSourceKind.Map"/>.</param>
/// <param name="Part">Which of the map's types, for <see cref="BtfSourceKind.Map"/>.</param>
/// <param name="Path">The file, for <see cref="BtfSourceKind.File"/>.</param>
internal sealed record BtfSource(BtfSourceKind Kind, uint Id = 0, MapSelector? Map = null, BtfMapPart Part = BtfMapPart.KeyAndValue, string? Path = null)
{
    /// <summary>The words that may start a source.</summary>
    public static readonly string[] Keywords = ["id", "map", "file"];

    /// <summary>The words that may follow <c>map MAP</c>.</summary>
    public static readonly string[] MapParts = ["key", "value", "kv", "all"];

    /// <summary>Reads a source from <paramref name="words"/>.</summary>
    /// <param name="words">The words.</param>
    /// <returns>The source.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadSelector"/> for anything that is not a source.</exception>
    public static BtfSource Read(Words words)
    {
        string? kind = words.Peek;
        switch (kind)
        {
            case null:
                throw new CliException(ExitCode.BadSelector, $"{words.Command}: expected a BTF source: id N | map MAP [key|value|kv|all] | file PATH");
            case "id":
                return new BtfSource(BtfSourceKind.Id, Id: ReadId(words));
            case "map":
                words.Next("map");
                MapSelector map = MapSelector.Read(words);
                BtfMapPart part = words.Peek switch
                {
                    "key" => BtfMapPart.Key,
                    "value" => BtfMapPart.Value,
                    "all" => BtfMapPart.All,
                    _ => BtfMapPart.KeyAndValue,
                };
                if (words.Peek is "key" or "value" or "kv" or "all")
                {
                    words.Next("key, value, kv or all");
                }

                return new BtfSource(BtfSourceKind.Map, Map: map, Part: part);
            case "file":
                words.Next("file");
                string path = words.AtEnd ? "" : words.Next("a path");
                if (path.Length == 0)
                {
                    throw new CliException(ExitCode.BadSelector, $"{words.Command}: 'file' needs a path");
                }

                return new BtfSource(BtfSourceKind.File, Path: path);
            case "prog":
                throw new CliException(ExitCode.BadSelector, $"{words.Command}: 'prog' sources are not supported; use id N with the program's btf_id (bpftool prog show prints it), map MAP or file PATH");
            default:
                throw new CliException(ExitCode.BadSelector, $"{words.Command}: '{kind}' is not a BTF source; use id N, map MAP or file PATH");
        }
    }

    /// <summary>Reads <c>id N</c> where N is a BTF object id.</summary>
    /// <param name="words">The words, at <c>id</c>.</param>
    /// <returns>The id.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadSelector"/> for another word, a missing value or one that is not a positive integer.</exception>
    public static uint ReadId(Words words)
    {
        if (words.Peek != "id")
        {
            throw new CliException(ExitCode.BadSelector, words.AtEnd
                ? $"{words.Command}: expected id N"
                : $"{words.Command}: expected id N, got '{words.Peek}'");
        }

        words.Next("id");
        if (words.AtEnd)
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: 'id' needs a value");
        }

        string value = words.Next("a BTF id");
        if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) || id == 0)
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: BTF id '{value}' is not a positive integer");
        }

        return id;
    }
}
