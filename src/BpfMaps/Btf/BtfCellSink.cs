using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace BpfMaps.Btf;

/// <summary>
/// Writes one field's value as the bare text of a table cell or a metric label: numbers as digits,
/// strings and enum names without quotes, bitfields and pointers in hex. A char array that is not a
/// string prints as <c>[1,2,3]</c>.
/// </summary>
internal struct BtfCellSink(IBufferWriter<byte> output) : IBtfValueSink
{
    private bool _comma;

    public void StartObject() => Open((byte)'{');

    public void EndObject() => Close((byte)'}');

    public void StartArray() => Open((byte)'[');

    public void EndArray() => Close((byte)']');

    public void WriteName(BtfName name)
    {
        Separator();
        Put(name.Utf8);
        Put(":"u8);
        _comma = false;
    }

    public void WriteUnsigned(ulong value)
    {
        Separator();
        Span<byte> s = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, s, out int n);
        output.Advance(n);
    }

    public void WriteSigned(long value)
    {
        Separator();
        Span<byte> s = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, s, out int n);
        output.Advance(n);
    }

    public void WriteBoolean(bool value)
    {
        Separator();
        Put(value ? "true"u8 : "false"u8);
    }

    public void WriteFloat(double value, bool fromFloat32)
    {
        Separator();
        Span<byte> s = output.GetSpan(32);
        int n;
        if (fromFloat32)
        {
            ((float)value).TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }
        else
        {
            value.TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }

        output.Advance(n);
    }

    public void WriteHex(UInt128 value)
    {
        Separator();
        output.Advance(BtfTextSink.FormatHex(value, output.GetSpan(34)));
    }

    public void WriteString(ReadOnlySpan<byte> ascii)
    {
        Separator();
        Put(ascii);
    }

    public void WriteEnumName(BtfName name)
    {
        Separator();
        Put(name.Utf8);
    }

    public void WritePointer(ulong value) => WriteHex(value);

    public void WriteChar(byte value)
    {
        if (value is >= 0x20 and < 0x7f)
        {
            Separator();
            Put([value]);
            return;
        }

        WriteHex(value);
    }

    public void WriteMarker(string marker)
    {
        Separator();
        Span<byte> s = output.GetSpan(marker.Length);
        output.Advance(System.Text.Encoding.ASCII.GetBytes(marker, s));
    }

    private void Open(byte c)
    {
        Separator();
        Put([c]);
        _comma = false;
    }

    private void Close(byte c)
    {
        Put([c]);
        _comma = true;
    }

    private void Separator()
    {
        if (_comma)
        {
            Put(","u8);
        }

        _comma = true;
    }

    private readonly void Put(ReadOnlySpan<byte> text)
    {
        text.CopyTo(output.GetSpan(text.Length));
        output.Advance(text.Length);
    }
}
