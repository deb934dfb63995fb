using System.Globalization;
using System.Text;

namespace BpfMaps.Cli.Output;

/// <summary>
/// CSV with a header row. Bytes are contiguous lower-case hex (<c>01000000</c>); keys and values of
/// 1, 2, 4 or 8 bytes also get a decimal column (little-endian unsigned). Per-CPU maps get one value
/// column per CPU, or one reduced column with <c>--percpu sum|min|max|avg</c>.
/// </summary>
internal sealed class CsvEntryRenderer : IEntryRenderer
{
    private readonly StreamWriter _w;
    private readonly EntryLayout _layout;

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="layout">The entry layout.</param>
    public CsvEntryRenderer(Stream output, EntryLayout layout)
    {
        _w = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        _layout = layout;
    }

    /// <inheritdoc />
    public void Begin()
    {
        var h = new StringBuilder("key");
        if (_layout.NumericKey)
        {
            h.Append(",key_u");
        }

        if (!_layout.PerCpu)
        {
            h.Append(_layout.MapInMap ? ",value,inner_map_id" : ",value");
            if (_layout.NumericValue && !_layout.MapInMap)
            {
                h.Append(",value_u");
            }
        }
        else if (_layout.Aggregated)
        {
            h.Append(CultureInfo.InvariantCulture, $",value_{_layout.Mode.ToString().ToLowerInvariant()}");
        }
        else
        {
            for (int c = 0; c < _layout.Cpus; c++)
            {
                h.Append(CultureInfo.InvariantCulture, $",cpu{c}");
            }
        }

        _w.WriteLine(h.ToString());
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _w.Write(Hex.Compact(key));
        if (_layout.NumericKey)
        {
            _w.Write(',');
            _w.Write(EntryLayout.ReadUnsigned(key).ToString(CultureInfo.InvariantCulture));
        }

        if (!_layout.PerCpu)
        {
            _w.Write(',');
            _w.Write(Hex.Compact(value[.._layout.ValueSize]));
            if (_layout.MapInMap)
            {
                _w.Write(',');
                _w.Write(EntryLayout.ReadUnsigned(value[..4]).ToString(CultureInfo.InvariantCulture));
            }
            else if (_layout.NumericValue)
            {
                _w.Write(',');
                _w.Write(EntryLayout.ReadUnsigned(value[.._layout.ValueSize]).ToString(CultureInfo.InvariantCulture));
            }
        }
        else if (_layout.Aggregated)
        {
            _w.Write(',');
            _w.Write(_layout.AggregateText(value));
        }
        else
        {
            for (int c = 0; c < _layout.Cpus; c++)
            {
                _w.Write(',');
                ReadOnlySpan<byte> v = _layout.CpuValue(value, c);
                _w.Write(_layout.NumericValue ? EntryLayout.ReadUnsigned(v).ToString(CultureInfo.InvariantCulture) : Hex.Compact(v));
            }
        }

        _w.WriteLine();
    }

    /// <inheritdoc />
    public void End(long count)
    {
        _w.Flush();
        _w.Dispose();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        // The rows already written stand; the error goes to stderr.
        End(-1);
        return false;
    }

    /// <inheritdoc />
    public void Dispose() => _w.Dispose();
}
