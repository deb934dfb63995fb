using System.Buffers;
using System.Text;
using BpfMaps.Btf;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Events;

namespace BpfMaps.Cli.Output;

/// <summary>
/// <c>event_pipe</c> as a table that grows a row per record: TIME, CPU, INDEX (perf only), SIZE and DATA in hex, cut to
/// the console's width; with <c>--type</c>, a column per BTF field (<c>pid</c>, <c>comm</c>, <c>slots[2]</c>) instead of
/// DATA. The header is written once; columns have fixed widths, so rows stream.
/// </summary>
internal sealed class TableEventRenderer : IEventRenderer
{
    private const int TimeWidth = 20;
    private const int FieldWidth = 12;
    private static readonly byte[] Ellipsis = "…"u8.ToArray();

    private readonly Utf8Output _out;
    private readonly int _width;
    private readonly BtfFormatter? _type;
    private readonly int[] _fieldWidths;
    private readonly ArrayBufferWriter<byte> _cell = new(64);
    private readonly bool _perf;
    private bool _begun;

    /// <summary>Creates the renderer.</summary>
    /// <param name="stdout">Where to write.</param>
    /// <param name="width">The console width.</param>
    /// <param name="type">The BTF type of the records, or null.</param>
    /// <param name="perf">Records come from a perf buffer (CPU and INDEX columns).</param>
    public TableEventRenderer(Stream stdout, int width, BtfFormatter? type, bool perf)
    {
        _perf = perf;
        _out = new Utf8Output(stdout);
        _width = Math.Max(width, 60);
        _type = type;
        _fieldWidths = type is null ? [] : type.Fields.Select(f => Math.Max(FieldWidth, f.Path.Length)).ToArray();
    }

    /// <inheritdoc />
    public void Begin()
    {
        _begun = true;
        Cell("TIME"u8, TimeWidth);
        if (_perf)
        {
            Cell("CPU"u8, 4);
            Cell("INDEX"u8, 6);
        }

        Cell("SIZE"u8, 6);
        if (_type is null)
        {
            _out.Write("DATA"u8);
        }
        else
        {
            for (int i = 0; i < _fieldWidths.Length; i++)
            {
                Cell(Encoding.UTF8.GetBytes(_type.Fields[i].Path), _fieldWidths[i]);
            }
        }

        _out.Write((byte)'\n');
    }

    /// <inheritdoc />
    public void Sample(in EventRecord record)
    {
        _cell.ResetWrittenCount();
        WriteTime(record.Timestamp);
        Cell(_cell.WrittenSpan, TimeWidth);
        if (_perf)
        {
            Number(record.Cpu, 4);
            Number(record.Index, 6);
        }

        Number(record.Data.Length, 6);
        int used = TimeWidth + 6 + (_perf ? 10 : 0);
        if (_type is not null && record.Data.Length >= _type.Reach)
        {
            for (int i = 0; i < _fieldWidths.Length; i++)
            {
                _cell.ResetWrittenCount();
                _type.Fields[i].WriteText(_cell, record.Data);
                Cell(_cell.WrittenSpan, _fieldWidths[i]);
            }
        }
        else
        {
            // Three characters a byte ("01 "), as many as fit.
            int room = Math.Max(1, (_width - used) / 3);
            ReadOnlySpan<byte> data = record.Data;
            Span<byte> hex = stackalloc byte[3];
            for (int i = 0; i < data.Length && i < room; i++)
            {
                if (i == room - 1 && data.Length > room)
                {
                    _out.Write(Ellipsis);
                    break;
                }

                hex[0] = HexDigit(data[i] >> 4);
                hex[1] = HexDigit(data[i] & 0xf);
                hex[2] = (byte)' ';
                _out.Write(i == data.Length - 1 ? hex[..2] : hex);
            }
        }

        _out.Write((byte)'\n');
    }

    /// <inheritdoc />
    public void Lost(int cpu, int index, ulong eventId, ulong count)
    {
        Cell(""u8, TimeWidth);
        Number(cpu, 4);
        Number(index, 6);
        Cell(""u8, 6);
        _out.Write("lost "u8);
        _out.Number(count);
        _out.Write(" events\n"u8);
    }

    /// <inheritdoc />
    public void Flush() => _out.Flush();

    /// <inheritdoc />
    public void End()
    {
        if (!_begun)
        {
            Begin();
        }

        _out.Flush();
    }

    private static byte HexDigit(int n) => (byte)(n < 10 ? '0' + n : 'a' + n - 10);

    private void WriteTime(ulong ns)
    {
        Span<byte> s = _cell.GetSpan(32);
        System.Buffers.Text.Utf8Formatter.TryFormat(ns / 1_000_000_000, s, out int n);
        s[n++] = (byte)'.';
        ulong frac = ns % 1_000_000_000;
        for (ulong d = 100_000_000; d > 1 && frac < d; d /= 10)
        {
            s[n++] = (byte)'0';
        }

        System.Buffers.Text.Utf8Formatter.TryFormat(frac, s[n..], out int m);
        _cell.Advance(n + m);
    }

    private void Number(long value, int width)
    {
        _cell.ResetWrittenCount();
        Span<byte> s = _cell.GetSpan(20);
        System.Buffers.Text.Utf8Formatter.TryFormat(value, s, out int n);
        _cell.Advance(n);
        Cell(_cell.WrittenSpan, width);
    }

    // Left-aligned, padded to width with at least one space after; cut with an ellipsis when longer.
    private void Cell(ReadOnlySpan<byte> text, int width)
    {
        int chars = Encoding.UTF8.GetCharCount(text);
        if (chars >= width)
        {
            int keep = width - 2;
            while (keep > 0 && Encoding.UTF8.GetCharCount(text[..keep]) > width - 2)
            {
                keep--;
            }

            _out.Write(text[..keep]);
            _out.Write(Ellipsis);
            _out.Write((byte)' ');
            return;
        }

        _out.Write(text);
        for (int i = chars; i < width; i++)
        {
            _out.Write((byte)' ');
        }
    }
}
