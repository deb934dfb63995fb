using System.Buffers.Binary;
using System.Text;

namespace BpfMaps.Exporter.Reading;

/// <summary>
/// Writes protocol buffers, the little of the encoding OTLP histograms need: varints, fixed64, doubles,
/// strings, packed repeated fields, and nested messages whose length is put in front when they end.
/// </summary>
internal sealed class ProtoWriter(PooledBufferWriter buffer)
{
    private const int Varint = 0, Fixed64Wire = 1, LengthDelimited = 2;

    /// <summary>The bytes written.</summary>
    public PooledBufferWriter Buffer => buffer;

    /// <summary>Starts a nested message (or packed field) <paramref name="field"/>; pass what it returns to <see cref="End"/>.</summary>
    public int Begin(int field)
    {
        Tag(field, LengthDelimited);
        return buffer.Length;
    }

    /// <summary>Ends a nested message: its length goes in front of it.</summary>
    public void End(int start)
    {
        int length = buffer.Length - start;
        int n = VarintSize((ulong)length);
        buffer.GetSpan(n);
        buffer.Advance(n);
        Span<byte> all = buffer.WrittenSpan;
        all.Slice(start, length).CopyTo(all[(start + n)..]);
        WriteVarint(all[start..], (ulong)length);
    }

    /// <summary>Ends a nested message, or takes it back when nothing was written in it since <paramref name="contentStart"/>.</summary>
    public bool EndOrDrop(int start, int contentStart, int tagStart)
    {
        if (buffer.Length == contentStart)
        {
            buffer.Truncate(tagStart);
            return false;
        }

        End(start);
        return true;
    }

    /// <summary>Where the next field will start (for <see cref="EndOrDrop"/>).</summary>
    public int Position => buffer.Length;

    public void String(int field, string value)
    {
        Tag(field, LengthDelimited);
        int n = Encoding.UTF8.GetByteCount(value);
        RawVarint((ulong)n);
        Encoding.UTF8.GetBytes(value, buffer.GetSpan(n));
        buffer.Advance(n);
    }

    public void Fixed64(int field, ulong value)
    {
        Tag(field, Fixed64Wire);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    public void Double(int field, double value) => Fixed64(field, BitConverter.DoubleToUInt64Bits(value));

    public void UInt(int field, ulong value)
    {
        Tag(field, Varint);
        RawVarint(value);
    }

    public void SInt32(int field, int value)
    {
        Tag(field, Varint);
        RawVarint((uint)((value << 1) ^ (value >> 31)));
    }

    /// <summary>A packed repeated fixed64 field.</summary>
    public void PackedFixed64(int field, ReadOnlySpan<ulong> values)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)values.Length * 8);
        Span<byte> span = buffer.GetSpan(values.Length * 8);
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], values[i]);
        }

        buffer.Advance(values.Length * 8);
    }

    /// <summary>A packed repeated double field.</summary>
    public void PackedDouble(int field, ReadOnlySpan<double> values)
    {
        Tag(field, LengthDelimited);
        RawVarint((ulong)values.Length * 8);
        Span<byte> span = buffer.GetSpan(values.Length * 8);
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], BitConverter.DoubleToUInt64Bits(values[i]));
        }

        buffer.Advance(values.Length * 8);
    }

    /// <summary>A packed repeated uint64 (varint) field.</summary>
    public void PackedUInt(int field, ReadOnlySpan<ulong> values)
    {
        int start = Begin(field);
        foreach (ulong v in values)
        {
            RawVarint(v);
        }

        End(start);
    }

    private void Tag(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

    private void RawVarint(ulong value)
    {
        Span<byte> span = buffer.GetSpan(10);
        buffer.Advance(WriteVarint(span, value));
    }

    private static int WriteVarint(Span<byte> span, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        return i;
    }

    private static int VarintSize(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }
}
