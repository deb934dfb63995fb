using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace BpfMaps.Btf;

/// <summary>
/// Writes formatted values as compact JSON, the <c>formatted</c> member of <c>bpftool -j</c>, straight
/// into an <see cref="IBufferWriter{T}"/>. Strings are escaped for JSON; floats that JSON cannot hold
/// (NaN, infinities) are written as strings.
/// </summary>
public struct BtfJsonSink : IBtfValueSink
{
    private readonly IBufferWriter<byte> _out;
    private bool _comma;

    /// <summary>Creates a sink over <paramref name="output"/>.</summary>
    /// <param name="output">Where the bytes go.</param>
    public BtfJsonSink(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _out = output;
        _comma = false;
    }

    /// <inheritdoc />
    public void StartObject() => Open((byte)'{');

    /// <inheritdoc />
    public void EndObject() => Close((byte)'}');

    /// <inheritdoc />
    public void StartArray() => Open((byte)'[');

    /// <inheritdoc />
    public void EndArray() => Close((byte)']');

    /// <inheritdoc />
    public void WriteName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Span<byte> s = Separator(name.Quoted.Length + 1);
        name.Quoted.CopyTo(s);
        s[name.Quoted.Length] = (byte)':';
        _out.Advance(Lead + name.Quoted.Length + 1);
        _comma = false;
    }

    /// <inheritdoc />
    public void WriteUnsigned(ulong value)
    {
        Span<byte> s = Separator(20);
        Utf8Formatter.TryFormat(value, s, out int n);
        Done(n);
    }

    /// <inheritdoc />
    public void WriteSigned(long value)
    {
        Span<byte> s = Separator(20);
        Utf8Formatter.TryFormat(value, s, out int n);
        Done(n);
    }

    /// <inheritdoc />
    public void WriteBoolean(bool value) => Literal(value ? "true"u8 : "false"u8);

    /// <inheritdoc />
    public void WriteFloat(double value, bool fromFloat32)
    {
        if (!double.IsFinite(value))
        {
            Literal(double.IsNaN(value) ? "\"NaN\""u8 : value > 0 ? "\"Infinity\""u8 : "\"-Infinity\""u8);
            return;
        }

        Span<byte> s = Separator(32);
        int n;
        if (fromFloat32)
        {
            ((float)value).TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }
        else
        {
            value.TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }

        Done(n);
    }

    /// <inheritdoc />
    public void WriteHex(UInt128 value)
    {
        Span<byte> s = Separator(36);
        s[0] = (byte)'"';
        int n = BtfTextSink.FormatHex(value, s[1..]);
        s[n + 1] = (byte)'"';
        Done(n + 2);
    }

    /// <inheritdoc />
    public void WriteString(ReadOnlySpan<byte> ascii)
    {
        Span<byte> s = Separator((2 * ascii.Length) + 2);
        int o = 0;
        s[o++] = (byte)'"';
        foreach (byte b in ascii)
        {
            if (b is (byte)'"' or (byte)'\\')
            {
                s[o++] = (byte)'\\';
            }

            s[o++] = b;
        }

        s[o++] = (byte)'"';
        Done(o);
    }

    /// <inheritdoc />
    public void WriteEnumName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Literal(name.Quoted);
    }

    /// <inheritdoc />
    public void WritePointer(ulong value) => WriteUnsigned(value);

    /// <inheritdoc />
    public void WriteChar(byte value)
    {
        if (value is >= 0x20 and < 0x7f)
        {
            ReadOnlySpan<byte> one = [value];
            WriteString(one);
            return;
        }

        Span<byte> s = Separator(8);
        "\"\\u00"u8.CopyTo(s);
        s[5] = BtfTextSink.HexDigit(value >> 4);
        s[6] = BtfTextSink.HexDigit(value & 0xf);
        s[7] = (byte)'"';
        Done(8);
    }

    /// <inheritdoc />
    public void WriteMarker(string marker)
    {
        ArgumentNullException.ThrowIfNull(marker);
        Span<byte> s = Separator(marker.Length + 2);
        s[0] = (byte)'"';
        int n = System.Text.Encoding.ASCII.GetBytes(marker, s[1..]);
        s[n + 1] = (byte)'"';
        Done(n + 2);
    }

    private readonly int Lead => _comma ? 1 : 0;

    private void Open(byte c)
    {
        Span<byte> s = Separator(1);
        s[0] = c;
        _out.Advance(Lead + 1);
        _comma = false;
    }

    private void Close(byte c)
    {
        _out.GetSpan(1)[0] = c;
        _out.Advance(1);
        _comma = true;
    }

    private void Literal(ReadOnlySpan<byte> text)
    {
        Span<byte> s = Separator(text.Length);
        text.CopyTo(s);
        Done(text.Length);
    }

    /// <summary>Room for <paramref name="size"/> bytes after the comma this token may need; the comma is written.</summary>
    private readonly Span<byte> Separator(int size)
    {
        Span<byte> s = _out.GetSpan(size + 1);
        if (_comma)
        {
            s[0] = (byte)',';
            return s[1..];
        }

        return s;
    }

    private void Done(int written)
    {
        _out.Advance(Lead + written);
        _comma = true;
    }
}
