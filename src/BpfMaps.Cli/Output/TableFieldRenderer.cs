using System.Buffers;
using System.Globalization;
using Spectre.Console;

namespace BpfMaps.Cli.Output;

/// <summary>
/// A table for a map with BTF: a column per field (numbers right-aligned), written in chunks of
/// <see cref="TableEntryRenderer.ChunkRows"/> rows so a large dump streams.
/// </summary>
internal sealed class TableFieldRenderer : IEntryRenderer
{
    private readonly IAnsiConsole _console;
    private readonly FieldColumns _columns;
    private readonly string? _title;
    private readonly ArrayBufferWriter<byte> _cell = new(64);
    private Table? _table;
    private bool _headerShown;

    /// <summary>Creates the renderer.</summary>
    /// <param name="console">The console.</param>
    /// <param name="columns">The field columns.</param>
    /// <param name="title">The table title.</param>
    public TableFieldRenderer(IAnsiConsole console, FieldColumns columns, string? title)
    {
        _console = console;
        _columns = columns;
        _title = title;
    }

    /// <inheritdoc />
    public void Begin() => _table = NewTable();

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var cells = new Text[_columns.All.Count];
        for (int i = 0; i < cells.Length; i++)
        {
            _cell.ResetWrittenCount();
            _columns.WriteText(_columns.All[i], _cell, key, value);
            cells[i] = new Text(System.Text.Encoding.UTF8.GetString(_cell.WrittenSpan));
        }

        _table ??= NewTable();
        _table.AddRow(cells);
        if (_table.Rows.Count >= TableEntryRenderer.ChunkRows)
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
            _table.Caption($"{count} entr{(count == 1 ? "y" : "ies")}");
            _console.Write(_table);
        }
        else
        {
            _console.MarkupLine(CultureInfo.InvariantCulture, "[grey]{0} entr{1}[/]", count, count == 1 ? "y" : "ies");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
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
        foreach (FieldColumn c in _columns.All)
        {
            var column = new TableColumn(Markup.Escape(c.Name));
            t.AddColumn(c.Field.IsNumeric && c.Field.Kind is not (Btf.BtfFieldKind.Enum or Btf.BtfFieldKind.Boolean or Btf.BtfFieldKind.Character) ? column.RightAligned() : column);
        }

        return t;
    }
}
