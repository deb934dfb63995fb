using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// <c>--sort</c> and <c>--top</c>: the only parts of a dump that must hold entries. Sorting holds every
/// entry that passes the filter; <c>--top N</c> holds at most 2N (it trims as it goes).
/// </summary>
internal sealed class EntryOrdering
{
    private readonly List<(byte[] Key, byte[] Value)> _held = [];
    private readonly Comparison<(byte[] Key, byte[] Value)> _compare;
    private readonly int _top;

    /// <summary>Creates the ordering.</summary>
    /// <param name="layout">The layout, for numeric comparison.</param>
    /// <param name="sort">The sort order (with <c>--top</c> and no sort: by value when values are numbers, else by key).</param>
    /// <param name="top">Entries to keep, or 0 for all.</param>
    /// <param name="field">The field of <see cref="SortOrder.Field"/>, such as <c>value.bytes</c>.</param>
    /// <exception cref="CliException">A field was asked of a map without BTF (or with <c>--raw</c>).</exception>
    /// <exception cref="BpfMaps.Btf.BtfException">The map's BTF has no such field; the message lists the fields.</exception>
    public EntryOrdering(EntryLayout layout, SortOrder sort, int top, string? field = null)
    {
        _top = top;
        if (sort == SortOrder.None)
        {
            sort = layout.NumericValue ? SortOrder.Value : SortOrder.Key;
        }

        if (sort == SortOrder.Field)
        {
            FieldColumns columns = layout.Columns
                ?? throw new CliException(ExitCode.BadBtf, $"--sort {field}: the map has no BTF (or --raw was given), so --sort takes key or value");
            _compare = ByField(layout, columns, columns.Find(field!));
            return;
        }

        _compare = sort == SortOrder.Key ? ByKey(layout) : ByValueDescending(layout);
    }

    /// <summary>By one field: ascending for a key field, descending for a value field; numbers as numbers, text as text.</summary>
    private static Comparison<(byte[] Key, byte[] Value)> ByField(EntryLayout layout, FieldColumns columns, FieldColumn column)
    {
        var byKey = ByKey(layout);
        int direction = column.InKey ? 1 : -1;
        if (column.Field.IsNumeric)
        {
            return (a, b) =>
            {
                int c = (columns.Number(column, a.Key, a.Value) ?? 0).CompareTo(columns.Number(column, b.Key, b.Value) ?? 0) * direction;
                return c != 0 ? c : byKey(a, b);
            };
        }

        return (a, b) =>
        {
            int c = string.CompareOrdinal(columns.Text(column, a.Key, a.Value), columns.Text(column, b.Key, b.Value)) * direction;
            return c != 0 ? c : byKey(a, b);
        };
    }

    /// <summary>Whether the options need an ordering at all.</summary>
    /// <param name="options">The options.</param>
    /// <returns>True for <c>--sort</c> or <c>--top</c>.</returns>
    public static bool Needed(GlobalOptions options) => options.Sort != SortOrder.None || options.Top > 0;

    /// <summary>Takes a copy of one entry.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _held.Add((key.ToArray(), value.ToArray()));
        if (_top > 0 && _held.Count >= 2 * Math.Max(_top, 512))
        {
            Trim();
        }
    }

    /// <summary>Writes the held entries in order.</summary>
    /// <param name="renderer">The renderer (already begun).</param>
    /// <returns>Entries written.</returns>
    public long Emit(IEntryRenderer renderer)
    {
        Trim();
        foreach (var (k, v) in _held)
        {
            renderer.Entry(k, v);
        }

        return _held.Count;
    }

    private void Trim()
    {
        _held.Sort(_compare);
        if (_top > 0 && _held.Count > _top)
        {
            _held.RemoveRange(_top, _held.Count - _top);
        }
    }

    /// <summary>Ascending key: numeric for 1/2/4/8-byte keys, else bytewise.</summary>
    /// <param name="layout">The layout.</param>
    /// <returns>The comparison.</returns>
    public static Comparison<(byte[] Key, byte[] Value)> ByKey(EntryLayout layout) => layout.NumericKey
        ? (a, b) => EntryLayout.ReadUnsigned(a.Key).CompareTo(EntryLayout.ReadUnsigned(b.Key))
        : (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key);

    /// <summary>Descending value (numeric, per-CPU reduced), ties by ascending key.</summary>
    /// <param name="layout">The layout.</param>
    /// <returns>The comparison.</returns>
    public static Comparison<(byte[] Key, byte[] Value)> ByValueDescending(EntryLayout layout)
    {
        var byKey = ByKey(layout);
        if (layout.NumericValue)
        {
            return (a, b) =>
            {
                int c = (layout.Number(b.Value) ?? 0).CompareTo(layout.Number(a.Value) ?? 0);
                return c != 0 ? c : byKey(a, b);
            };
        }

        return (a, b) =>
        {
            int c = b.Value.AsSpan().SequenceCompareTo(a.Value);
            return c != 0 ? c : byKey(a, b);
        };
    }
}
