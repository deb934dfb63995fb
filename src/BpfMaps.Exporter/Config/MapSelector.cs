using System.Globalization;

namespace BpfMaps.Exporter;

/// <summary>How a map is found: bpftool's <c>id N | pinned PATH | name NAME</c>.</summary>
internal enum SelectorKind
{
    Id,
    Pinned,
    Name,
}

/// <summary>A parsed map selector.</summary>
/// <param name="Kind">Which form.</param>
/// <param name="Id">The id, for <see cref="SelectorKind.Id"/>.</param>
/// <param name="Text">The path or name.</param>
internal sealed record MapSelector(SelectorKind Kind, uint Id, string Text)
{
    /// <summary>Parses <c>id N</c>, <c>pinned PATH</c> or <c>name NAME</c>.</summary>
    /// <param name="s">The text.</param>
    /// <param name="error">Why it is malformed, or null.</param>
    /// <returns>The selector, or null.</returns>
    public static MapSelector? TryParse(string? s, out string? error)
    {
        error = null;
        string t = (s ?? "").Trim();
        int space = t.IndexOf(' ', StringComparison.Ordinal);
        string word = space < 0 ? t : t[..space];
        string rest = space < 0 ? "" : t[(space + 1)..].Trim();
        switch (word)
        {
            case "id" when uint.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id > 0:
                return new MapSelector(SelectorKind.Id, id, rest);
            case "id":
                error = $"'{s}': 'id' needs a positive map id, as in 'id 42'";
                return null;
            case "pinned" when rest.StartsWith('/'):
                return new MapSelector(SelectorKind.Pinned, 0, rest);
            case "pinned":
                error = $"'{s}': 'pinned' needs an absolute path on bpffs, as in 'pinned /sys/fs/bpf/counts'";
                return null;
            case "name" when rest.Length is > 0 and <= 15 && !rest.Contains(' ', StringComparison.Ordinal):
                return new MapSelector(SelectorKind.Name, 0, rest);
            case "name":
                error = $"'{s}': 'name' needs a map name of 1 to 15 characters (the kernel keeps 15), as in 'name counts'";
                return null;
            default:
                error = $"'{s}' is not a map selector; expected 'id N', 'pinned PATH' or 'name NAME'";
                return null;
        }
    }

    /// <summary>A short name for the <c>map</c> label: the name, the pin's file name, or <c>id N</c>.</summary>
    public string DefaultLabel => Kind switch
    {
        SelectorKind.Pinned => System.IO.Path.GetFileName(Text.TrimEnd('/')),
        SelectorKind.Name => Text,
        _ => $"id {Id}",
    };

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        SelectorKind.Id => $"id {Id}",
        SelectorKind.Pinned => $"pinned {Text}",
        _ => $"name {Text}",
    };
}
