using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace BpfMaps;

/// <summary>How a <see cref="MapSelector"/> names a map.</summary>
public enum MapSelectorKind
{
    /// <summary><c>id N</c>: the system-wide map id.</summary>
    Id,

    /// <summary><c>pinned PATH</c>: the map pinned at a path on bpffs.</summary>
    Pinned,

    /// <summary><c>name NAME</c>: every map with that name (names are not unique).</summary>
    Name,
}

/// <summary>Why a text is not a <see cref="MapSelector"/>.</summary>
public enum MapSelectorError
{
    /// <summary>It is one.</summary>
    None,

    /// <summary>Nothing was given.</summary>
    Empty,

    /// <summary>The first word is not <c>id</c>, <c>pinned</c> or <c>name</c>.</summary>
    UnknownKind,

    /// <summary>The kind has no value after it (for <c>pinned</c>: an empty path).</summary>
    MissingValue,

    /// <summary><c>id</c> with a value that is not a positive 32-bit integer.</summary>
    BadId,

    /// <summary><c>name</c> with more than 15 characters: the kernel keeps 15, so no map can have it.</summary>
    NameTooLong,

    /// <summary>The value has a NUL character, which the kernel would read as its end.</summary>
    ContainsNul,
}

/// <summary>
/// bpftool's way of naming a map: <c>id N</c>, <c>pinned PATH</c> or <c>name NAME</c>. Parsed and
/// opened here, for the CLI, the exporter and any tool that takes a map from its user.
/// </summary>
public sealed record MapSelector
{
    /// <summary>The longest map name the kernel keeps (BPF_OBJ_NAME_LEN less the NUL).</summary>
    public const int MaxNameLength = 15;

    private MapSelector(MapSelectorKind kind, uint id, string value)
    {
        Kind = kind;
        Id = id;
        Value = value;
    }

    /// <summary>The words that start a selector, in bpftool's order.</summary>
    public static IReadOnlyList<string> Keywords { get; } = ["id", "pinned", "name"];

    /// <summary>Which form.</summary>
    public MapSelectorKind Kind { get; }

    /// <summary>The map id for <see cref="MapSelectorKind.Id"/>; 0 otherwise.</summary>
    public uint Id { get; }

    /// <summary>The path or the name; for <see cref="MapSelectorKind.Id"/> the id in decimal.</summary>
    public string Value { get; }

    /// <summary>Selects the map with system-wide id <paramref name="id"/>.</summary>
    /// <param name="id">A positive map id.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The id is 0.</exception>
    public static MapSelector ById(uint id)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        return new(MapSelectorKind.Id, id, id.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Selects the map pinned at <paramref name="path"/>.</summary>
    /// <param name="path">A path on a bpffs mount.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="ArgumentException">The path is null or empty, or has a NUL character.</exception>
    public static MapSelector ByPin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        BpfErrors.ThrowIfContainsNul(path, nameof(path));
        return new(MapSelectorKind.Pinned, 0, path);
    }

    /// <summary>Selects the maps named <paramref name="name"/>.</summary>
    /// <param name="name">A map name of 1 to 15 characters.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="ArgumentException">The name is empty, longer than 15 characters, or has a NUL character.</exception>
    public static MapSelector ByName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        BpfErrors.ThrowIfContainsNul(name, nameof(name));
        if (name.Length > MaxNameLength)
        {
            BpfErrors.ThrowArgument(nameof(name), $"map name '{name}' is longer than {MaxNameLength} characters, the kernel's limit");
        }

        return new(MapSelectorKind.Name, 0, name);
    }

    /// <summary>Parses a selector given as two words, the kind and its value (as a command line splits it).</summary>
    /// <param name="kind"><c>id</c>, <c>pinned</c> or <c>name</c>.</param>
    /// <param name="value">The id, path or name; null when the kind had none.</param>
    /// <param name="selector">The selector, or null.</param>
    /// <param name="error">Why it is not one, or <see cref="MapSelectorError.None"/>.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? kind, string? value, [NotNullWhen(true)] out MapSelector? selector, out MapSelectorError error)
    {
        selector = null;
        error = kind switch
        {
            null or "" => MapSelectorError.Empty,
            not ("id" or "pinned" or "name") => MapSelectorError.UnknownKind,
            _ when string.IsNullOrEmpty(value) => MapSelectorError.MissingValue,
            "id" when !uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) || id == 0 => MapSelectorError.BadId,
            "name" when value.Length > MaxNameLength => MapSelectorError.NameTooLong,
            _ when value.Contains('\0', StringComparison.Ordinal) => MapSelectorError.ContainsNul,
            _ => MapSelectorError.None,
        };
        if (error != MapSelectorError.None)
        {
            return false;
        }

        selector = kind switch
        {
            "id" => ById(uint.Parse(value!, NumberStyles.None, CultureInfo.InvariantCulture)),
            "pinned" => ByPin(value!),
            _ => ByName(value!),
        };
        return true;
    }

    /// <summary>Parses a selector written as one text, <c>id 42</c>: the kind, then the value after the first spaces.</summary>
    /// <param name="text">The text; leading and trailing spaces are ignored.</param>
    /// <param name="selector">The selector, or null.</param>
    /// <param name="error">Why it is not one, or <see cref="MapSelectorError.None"/>.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? text, [NotNullWhen(true)] out MapSelector? selector, out MapSelectorError error)
    {
        string t = (text ?? "").Trim();
        int space = t.IndexOf(' ', StringComparison.Ordinal);
        return TryParse(space < 0 ? t : t[..space], space < 0 ? "" : t[(space + 1)..].Trim(), out selector, out error);
    }

    /// <summary>Parses a selector written as one text, <c>id 42</c>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="FormatException">The text is not a selector; the message says why.</exception>
    public static MapSelector Parse(string text)
        => TryParse(text, out MapSelector? selector, out MapSelectorError error)
            ? selector
            : throw new FormatException($"'{text}' is not a map selector: {Describe(error)}; expected 'id N', 'pinned PATH' or 'name NAME'");

    /// <summary>Says what a <see cref="MapSelectorError"/> means, in a few words.</summary>
    /// <param name="error">The error.</param>
    /// <returns>The words.</returns>
    public static string Describe(MapSelectorError error) => error switch
    {
        MapSelectorError.Empty => "nothing given",
        MapSelectorError.UnknownKind => "the first word is not id, pinned or name",
        MapSelectorError.MissingValue => "no value after the kind",
        MapSelectorError.BadId => "the id is not a positive integer",
        MapSelectorError.NameTooLong => $"the name is longer than {MaxNameLength} characters, the kernel's limit",
        MapSelectorError.ContainsNul => "the value has a NUL character",
        _ => "no error",
    };

    /// <summary>
    /// Opens every map the selector matches: one for <c>id</c> and <c>pinned</c>, every map with the name
    /// for <c>name</c> (BPF_MAP_GET_FD_BY_ID, BPF_OBJ_GET; the name through <see cref="BpfMap.OpenSystemMaps"/>).
    /// </summary>
    /// <returns>The maps, by ascending id; the caller disposes them.</returns>
    /// <exception cref="MapNotFoundException">Nothing matches: no such id, nothing (or no map) pinned there, no map with the name.</exception>
    /// <exception cref="BpfException">Any other kernel error (EPERM without privileges).</exception>
    public List<BpfMap> OpenAll()
    {
        switch (Kind)
        {
            case MapSelectorKind.Id:
            case MapSelectorKind.Pinned:
                return [OpenExact()];
            default:
                var found = new List<BpfMap>();
                foreach (BpfMap m in BpfMap.OpenSystemMaps())
                {
                    if (m.Name == Value)
                    {
                        found.Add(m);
                    }
                    else
                    {
                        m.Dispose();
                    }
                }

                return found.Count > 0 ? found : throw new MapNotFoundException(this, Errno.ENOENT, $"no map named '{Value}'");
        }
    }

    /// <summary>Opens the one map the selector matches.</summary>
    /// <returns>The map; the caller disposes it.</returns>
    /// <exception cref="MapNotFoundException">Nothing matches.</exception>
    /// <exception cref="AmbiguousMapSelectorException">A name matches several maps.</exception>
    /// <exception cref="BpfException">Any other kernel error.</exception>
    public BpfMap OpenOne()
    {
        List<BpfMap> all = OpenAll();
        if (all.Count == 1)
        {
            return all[0];
        }

        uint[] ids = [.. all.Select(m => m.Id)];
        foreach (BpfMap m in all)
        {
            m.Dispose();
        }

        throw new AmbiguousMapSelectorException(this, ids);
    }

    /// <summary>Opens the newest (highest id) map the selector matches: a reloaded program's map replaces the old one.</summary>
    /// <returns>The map; the caller disposes it.</returns>
    /// <exception cref="MapNotFoundException">Nothing matches.</exception>
    /// <exception cref="BpfException">Any other kernel error.</exception>
    public BpfMap OpenNewest()
    {
        List<BpfMap> all = OpenAll();
        for (int i = 0; i < all.Count - 1; i++)
        {
            all[i].Dispose();
        }

        return all[^1];
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        MapSelectorKind.Id => $"id {Value}",
        MapSelectorKind.Pinned => $"pinned {Value}",
        _ => $"name {Value}",
    };

    private BpfMap OpenExact()
    {
        try
        {
            return Kind == MapSelectorKind.Id ? BpfMap.OpenById(Id) : BpfMap.OpenPinned(Value);
        }
        catch (BpfException e) when (e.Errno == Errno.ENOENT)
        {
            throw new MapNotFoundException(this, e.Errno, Kind == MapSelectorKind.Id ? $"no map with id {Value}" : $"nothing is pinned at {Value}", e);
        }
        catch (BpfException e) when (e.Errno == Errno.EINVAL && Kind == MapSelectorKind.Pinned)
        {
            throw new MapNotFoundException(this, e.Errno, $"{Value} is not a pinned BPF map", e);
        }
        catch (BpfException e) when (e.Errno is Errno.EACCES or Errno.EPERM && Kind == MapSelectorKind.Pinned && BpfFs.WhyNotAPin(Value) is { } why)
        {
            throw new MapNotFoundException(this, e.Errno, why, e);
        }
    }
}
