using System.Buffers;

namespace BpfMaps.Cli.Output;

/// <summary>
/// CSV for a map with BTF: a header of field column names (<c>key.saddr,value.comm,…</c>), then one row
/// per entry. Cells holding a comma, a quote or a line break are quoted, with quotes doubled.
/// </summary>
internal sealed class CsvFieldRenderer : IEntryRenderer
{
    private readonly Stream _out;
    private readonly FieldColumns _columns;
    private readonly ArrayBufferWriter<byte> _line = new(512);
    private readonly ArrayBufferWriter<byte> _cell = new(64);

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="columns">The field columns.</param>
    public CsvFieldRenderer(Stream output, FieldColumns columns)
    {
        _out = output;
        _columns = columns;
    }

    /// <inheritdoc />
    public void Begin()
    {
        for (int i = 0; i < _columns.All.Count; i++)
        {
            if (i > 0)
            {
                _line.Write(","u8);
            }

            Cell(System.Text.Encoding.UTF8.GetBytes(_columns.All[i].Name));
        }

        _line.Write("\n"u8);
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < _columns.All.Count; i++)
        {
            if (i > 0)
            {
                _line.Write(","u8);
            }

            _cell.ResetWrittenCount();
            _columns.WriteText(_columns.All[i], _cell, key, value);
            Cell(_cell.WrittenSpan);
        }

        _line.Write("\n"u8);
        if (_line.WrittenCount > 1 << 16)
        {
            Flush();
        }
    }

    /// <inheritdoc />
    public void End(long count)
    {
        Flush();
        _out.Flush();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        End(-1);
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void Cell(ReadOnlySpan<byte> text)
    {
        if (text.IndexOfAny(",\"\n\r"u8) < 0)
        {
            _line.Write(text);
            return;
        }

        _line.Write("\""u8);
        foreach (byte b in text)
        {
            if (b == (byte)'"')
            {
                _line.Write("\""u8);
            }

            _line.Write([b]);
        }

        _line.Write("\""u8);
    }

    private void Flush()
    {
        _out.Write(_line.WrittenSpan);
        _line.ResetWrittenCount();
    }
}
