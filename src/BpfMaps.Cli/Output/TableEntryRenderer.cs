using System.Globalization;
using Spectre.Console;

namespace BpfMaps.Cli.Output;

/// <summary>
/// A Spectre.Console table for terminals. Rows are written in chunks of <see cref="ChunkRows"/> so a
/// large dump still streams (each chunk is a table of its own; only the first has a header).
/// </summary>
internal sealed class TableEntryRenderer : IEntryRenderer
{
    /// <summary>Rows per rendered table.</summary>
    public const int ChunkRows = 500;

    private readonly IAnsiConsole _console;
    private readonly EntryLayout _layout;
    private readonly string? _title;
    private Table? _table;
    private bool _headerShown;

    /// <summary>Creates the renderer.</summary>
    /// <param name="console">Where to render.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="title">A caption (the map), or null.</param>
    public TableEntryRenderer(IAnsiConsole console, EntryLayout layout, string? title)
    {
        _console = console;
        _layout = layout;
        _title = title;
    }

    /// <inheritdoc />
    public void Begin() => _table = NewTable();

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var cells = new List<string> { Hex.Spaced(key) };
        if (_layout.NumericKey)
        {
            cells.Add(EntryLayout.ReadUnsigned(key).ToString(CultureInfo.InvariantCulture));
        }

        if (!_layout.PerCpu)
        {
            if (_layout.MapInMap)
            {
                cells.Add(EntryLayout.ReadUnsigned(value[..4]).ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                cells.Add(Hex.Spaced(value[.._layout.ValueSize]));
                if (_layout.NumericValue)
                {
                    cells.Add(EntryLayout.ReadUnsigned(value[.._layout.ValueSize]).ToString("N0", CultureInfo.InvariantCulture));
                }
            }
        }
        else if (_layout.Aggregated)
        {
            cells.Add(_layout.AggregateText(value));
        }
        else
        {
            for (int c = 0; c < _layout.Cpus; c++)
            {
                ReadOnlySpan<byte> v = _layout.CpuValue(value, c);
                cells.Add(_layout.NumericValue ? EntryLayout.ReadUnsigned(v).ToString("N0", CultureInfo.InvariantCulture) : Hex.Spaced(v));
            }
        }

        _table ??= NewTable();
        _table.AddRow(cells.Select(c => new Text(c)).ToArray());
        if (_table.Rows.Count >= ChunkRows)
        {
            _console.Write(_table);
            _table = NewTable();
        }
    }

    /// <inheritdoc />
    public void End(long count)
    {
        if (_table!.Rows.Count > 0 || count == 0)
        {
            _table!.Caption($"{count} entr{(count == 1 ? "y" : "ies")}");
            _console.Write(_table!);
        }
        else
        {
            _console.MarkupLine(CultureInfo.InvariantCulture, "[grey]{0} entr{1}[/]", count, count == 1 ? "y" : "ies");
        }
    }

    private Table NewTable()
    {
        var t = new Table().Border(TableBorder.Rounded);
        if (_headerShown)
        {
            t.HideHeaders();
        }
        else if (_title is not null)
        {
            t.Title(Markup.Escape(_title));
        }

        _headerShown = true;
        t.AddColumn("key");
        if (_layout.NumericKey)
        {
            t.AddColumn(new TableColumn("key (u)").RightAligned());
        }

        if (!_layout.PerCpu)
        {
            if (_layout.MapInMap)
            {
                t.AddColumn(new TableColumn("inner_map_id").RightAligned());
            }
            else
            {
                t.AddColumn("value");
                if (_layout.NumericValue)
                {
                    t.AddColumn(new TableColumn("value (u)").RightAligned());
                }
            }
        }
        else if (_layout.Aggregated)
        {
            t.AddColumn(new TableColumn($"value ({_layout.Mode.ToString().ToLowerInvariant()})").RightAligned());
        }
        else
        {
            for (int c = 0; c < _layout.Cpus; c++)
            {
                t.AddColumn(new TableColumn($"cpu {c}").RightAligned());
            }
        }

        return t;
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        if (_table is { Rows.Count: > 0 } table)
        {
            table.Caption($"{table.Rows.Count} entr{(table.Rows.Count == 1 ? "y" : "ies")} read before the error");
            _console.Write(table);
        }

        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
