using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace BpfMaps.Btf;

/// <summary>
/// Writes formatted values as bpftool's plain BTF text: its pretty JSON writer in plain-text mode. Names
/// start a new line indented four spaces per level; array elements follow one another on a line, and the
/// closing bracket goes on the next; bitfields are bare hex; pointers print as <c>%p</c> does
/// (<c>(nil)</c>, <c>0x…</c>).
/// </summary>
/// <remarks>Strings are escaped correctly, where bpftool 7.1 writes a backslash as <c>\n</c>.</remarks>
public struct BtfTextSink : IBtfValueSink
{
    private readonly IBufferWriter<byte> _out;
    private int _depth;
    private bool _comma;

    /// <summary>Creates a sink over <paramref name="output"/>.</summary>
    /// <param name="output">Where the text goes.</param>
    public BtfTextSink(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _out = output;
        _depth = 0;
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
        Comma();
        NewLine();
        _comma = false;
        Put(name.Quoted);
        Put(": "u8);
    }

    /// <inheritdoc />
    public void WriteUnsigned(ulong value)
    {
        Comma();
        Span<byte> s = _out.GetSpan(20);
        Utf8Formatter.TryFormat(value, s, out int n);
        _out.Advance(n);
    }

    /// <inheritdoc />
    public void WriteSigned(long value)
    {
        Comma();
        Span<byte> s = _out.GetSpan(20);
        Utf8Formatter.TryFormat(value, s, out int n);
        _out.Advance(n);
    }

    /// <inheritdoc />
    public void WriteBoolean(bool value) => Value(value ? "true"u8 : "false"u8);

    /// <inheritdoc />
    public void WriteFloat(double value, bool fromFloat32)
    {
        Comma();
        Span<byte> s = _out.GetSpan(32);
        int n;
        if (fromFloat32)
        {
            ((float)value).TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }
        else
        {
            value.TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }

        _out.Advance(n);
    }

    /// <inheritdoc />
    public void WriteHex(UInt128 value)
    {
        Comma();
        Span<byte> s = _out.GetSpan(34);
        _out.Advance(FormatHex(value, s));
    }

    /// <inheritdoc />
    public void WriteString(ReadOnlySpan<byte> ascii)
    {
        Comma();
        Span<byte> s = _out.GetSpan((2 * ascii.Length) + 2);
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
        _out.Advance(o);
    }

    /// <inheritdoc />
    public void WriteEnumName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Value(name.Quoted);
    }

    /// <inheritdoc />
    public void WritePointer(ulong value)
    {
        if (value == 0)
        {
            Value("(nil)"u8);
            return;
        }

        WriteHex(value);
    }

    /// <inheritdoc />
    public void WriteChar(byte value)
    {
        if (value is >= 0x20 and < 0x7f)
        {
            Comma();
            Span<byte> s = _out.GetSpan(3);
            s[0] = (byte)'"';
            s[1] = value;
            s[2] = (byte)'"';
            _out.Advance(3);
            return;
        }

        WriteHex(value);
    }

    /// <inheritdoc />
    public void WriteMarker(string marker)
    {
        ArgumentNullException.ThrowIfNull(marker);
        Comma();
        Span<byte> s = _out.GetSpan(marker.Length);
        _out.Advance(System.Text.Encoding.ASCII.GetBytes(marker, s));
    }

    /// <summary>Ends the document as bpftool's writer does when it is destroyed: a newline.</summary>
    public readonly void End() => Put("\n"u8);

    /// <summary><c>0x</c> and the value in lower-case hex without leading zeros, as <c>%llx</c> prints it.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dest">Room for the digits: 34 bytes always suffice.</param>
    /// <returns>Bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="dest"/> is too short for the value.</exception>
    internal static int FormatHex(UInt128 value, Span<byte> dest)
    {
        int digits = value == 0 ? 1 : (int)((128 - UInt128.LeadingZeroCount(value) + 3) / 4);
        if (dest.Length < digits + 2)
        {
            throw new ArgumentException($"dest is {dest.Length} bytes but 0x and {digits} hex digits need {digits + 2}", nameof(dest));
        }

        dest[0] = (byte)'0';
        dest[1] = (byte)'x';
        for (int i = digits - 1; i >= 0; i--)
        {
            dest[2 + i] = HexDigit((int)(value & 0xf));
            value >>= 4;
        }

        return digits + 2;
    }

    internal static byte HexDigit(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private void Open(byte c)
    {
        Comma();
        Put([c]);
        _depth++;
        _comma = false;
    }

    private void Close(byte c)
    {
        _depth--;
        if (_comma)
        {
            NewLine();
        }

        Put([c]);
        _comma = true;
    }

    private void Value(ReadOnlySpan<byte> text)
    {
        Comma();
        Put(text);
    }

    private void Comma()
    {
        if (_comma)
        {
            Put(","u8);
        }

        _comma = true;
    }

    private readonly void NewLine()
    {
        Span<byte> s = _out.GetSpan(1 + (4 * _depth));
        s[0] = (byte)'\n';
        s.Slice(1, 4 * _depth).Fill((byte)' ');
        _out.Advance(1 + (4 * _depth));
    }

    private readonly void Put(ReadOnlySpan<byte> text)
    {
        text.CopyTo(_out.GetSpan(text.Length));
        _out.Advance(text.Length);
    }
}
