using System.Globalization;
using System.Text;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool's plain text: <c>key: 01 00 00 00  value: 02 00 ...</c> on one line when key and value fit
/// in 16 bytes, <c>key:</c>/<c>value:</c> on lines of their own otherwise, <c>value (CPU NN):</c> lines for
/// per-CPU maps, <c>inner_map_id:</c> for map-in-map, and a closing <c>Found N elements</c> line.
/// </summary>
internal sealed class PlainEntryRenderer : IEntryRenderer
{
    private readonly Stream _out;
    private readonly EntryLayout _layout;
    private readonly bool _single;
    private readonly byte[] _line;
    private int _o;

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="single">A lookup: no closing count line.</param>
    public PlainEntryRenderer(Stream output, EntryLayout layout, bool single = false)
    {
        _out = output;
        _layout = layout;
        _single = single;
        _line = new byte[64 + Hex.GroupedLength(layout.KeySize) + ((Hex.GroupedLength(layout.ValueSize) + 32) * Math.Max(1, layout.Cpus))];
    }

    /// <inheritdoc />
    public void Begin()
    {
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _o = 0;
        if (!_layout.PerCpu)
        {
            bool breakNames = _layout.KeySize > 16 || _layout.ValueSize > 16;
            // bpftool prints no key line for maps without keys (queue, stack).
            if (_layout.KeySize > 0)
            {
                Put("key:"u8);
                Put(breakNames ? "\n"u8 : " "u8);
                _o += Hex.WriteGrouped(key, _line.AsSpan(_o));
                Put(breakNames ? "\n"u8 : "  "u8);
            }

            if (_layout.MapInMap)
            {
                Put("inner_map_id:"u8);
                Put(breakNames ? "\n"u8 : " "u8);
                Put(EntryLayout.ReadUnsigned(value[..4]).ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                Put("value:"u8);
                Put(breakNames ? "\n"u8 : " "u8);
                _o += Hex.WriteGrouped(value[.._layout.ValueSize], _line.AsSpan(_o));
            }

            Put("\n"u8);
        }
        else
        {
            Put("key:\n"u8);
            _o += Hex.WriteGrouped(key, _line.AsSpan(_o));
            Put("\n"u8);
            if (_layout.Aggregated)
            {
                Put($"value ({_layout.Mode.ToString().ToLowerInvariant()}): {_layout.AggregateText(value)}\n");
            }
            else
            {
                for (int c = 0; c < _layout.Cpus; c++)
                {
                    Put(string.Create(CultureInfo.InvariantCulture, $"value (CPU {c:00}): "));
                    _o += Hex.WriteGrouped(_layout.CpuValue(value, c), _line.AsSpan(_o));
                    Put("\n"u8);
                }
            }
        }

        _out.Write(_line, 0, _o);
    }

    /// <inheritdoc />
    public void End(long count)
    {
        if (!_single)
        {
            _out.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Found {count} element{(count == 1 ? "" : "s")}\n")));
        }

        _out.Flush();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        // No "Found N elements" footer: the count would claim a complete dump.
        _out.Flush();
        return false;
    }

    private void Put(ReadOnlySpan<byte> s)
    {
        s.CopyTo(_line.AsSpan(_o));
        _o += s.Length;
    }

    private void Put(string s) => _o += Encoding.ASCII.GetBytes(s, _line.AsSpan(_o));

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
