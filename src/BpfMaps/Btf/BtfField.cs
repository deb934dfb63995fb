using System.Buffers.Binary;

namespace BpfMaps.Btf;

/// <summary>
/// One leaf of a type, for showing values in columns: a number, bool, enum, pointer or bitfield, or a
/// char array (a string when bpftool would print one). Its <see cref="Path"/> names it the way C
/// would, such as <c>saddr</c>, <c>inner.count</c> or <c>slots[2]</c>; members of anonymous structs
/// and unions take their parent's path.
/// </summary>
public sealed class BtfField
{
    private readonly BtfFormatter _formatter;
    private readonly int _node;
    private readonly int _parentOffset;

    internal BtfField(BtfFormatter formatter, int node, int parentOffset, string path, BtfFieldKind kind, int offset, int size)
    {
        _formatter = formatter;
        _node = node;
        _parentOffset = parentOffset;
        Path = path;
        Kind = kind;
        Offset = offset;
        Size = size;
    }

    /// <summary>Byte offset of the field's first byte from the start of its type.</summary>
    public int Offset { get; }

    /// <summary>Bytes the field covers (for a bitfield, the bytes its bits touch).</summary>
    public int Size { get; }

    /// <summary>The field's path within its type; empty when the type itself is the leaf.</summary>
    public string Path { get; }

    /// <summary>What kind of value it holds.</summary>
    public BtfFieldKind Kind { get; }

    /// <summary>Whether the value reads as a number (for sorting and per-CPU reductions).</summary>
    public bool IsNumeric => Kind is not (BtfFieldKind.Text or BtfFieldKind.Other);

    /// <summary>Writes the field's value, found in <paramref name="data"/> (the whole type's bytes), to <paramref name="sink"/>.</summary>
    /// <typeparam name="TSink">The sink type.</typeparam>
    /// <param name="sink">Where to write.</param>
    /// <param name="data">The bytes of the whole value the field belongs to.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is shorter than the type reads.</exception>
    public void Write<TSink>(ref TSink sink, ReadOnlySpan<byte> data)
        where TSink : IBtfValueSink
        => _formatter.WriteNode(ref sink, _node, Data(data));

    /// <summary>
    /// Writes the field's value as bare text, as a table cell or a metric label shows it: digits, an enum's
    /// name or a string without quotes, hex for bitfields and pointers.
    /// </summary>
    /// <param name="output">Where the UTF-8 text goes.</param>
    /// <param name="data">The bytes of the whole value.</param>
    public void WriteText(System.Buffers.IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        var sink = new BtfCellSink(output);
        Write(ref sink, data);
    }

    /// <summary>The field's value as bare text (see <see cref="WriteText"/>); allocates the string.</summary>
    /// <param name="data">The bytes of the whole value.</param>
    /// <returns>The text.</returns>
    public string ToText(ReadOnlySpan<byte> data)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(32);
        WriteText(buffer, data);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The field's value as an exact integer, for integer, bool, enum, pointer and bitfield fields.</summary>
    /// <param name="data">The bytes of the whole value.</param>
    /// <param name="value">The value.</param>
    /// <returns>False for floats, text and other fields.</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> is shorter than the type reads.</exception>
    public bool TryGetInteger(ReadOnlySpan<byte> data, out Int128 value) => _formatter.TryReadInteger(_node, Data(data), out value);

    /// <summary>The field's value as a double, for every numeric field.</summary>
    /// <param name="data">The bytes of the whole value.</param>
    /// <param name="value">The value.</param>
    /// <returns>False for text and other fields.</returns>
    public bool TryGetNumber(ReadOnlySpan<byte> data, out double value)
    {
        if (Kind == BtfFieldKind.Float)
        {
            value = _formatter.ReadFloat(_node, Data(data));
            return true;
        }

        if (TryGetInteger(data, out Int128 i))
        {
            value = (double)i;
            return true;
        }

        value = 0;
        return false;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Path} ({Kind})";

    private ReadOnlySpan<byte> Data(ReadOnlySpan<byte> data)
    {
        if (data.Length < _formatter.Reach)
        {
            throw new ArgumentException($"the value is {data.Length} bytes but type {_formatter.TypeId} reads {_formatter.Reach}", nameof(data));
        }

        return data[_parentOffset..];
    }
}

/// <summary>What a <see cref="BtfField"/> holds.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "C's words for the kinds of values.")]
public enum BtfFieldKind
{
    /// <summary>An unsigned integer.</summary>
    Unsigned,

    /// <summary>A signed integer.</summary>
    Signed,

    /// <summary>A bool.</summary>
    Boolean,

    /// <summary>A bitfield or an integer of odd width, printed in hex.</summary>
    Bits,

    /// <summary>A floating-point number.</summary>
    Float,

    /// <summary>An enum: its name when a value matches, else the number.</summary>
    Enum,

    /// <summary>A pointer.</summary>
    Pointer,

    /// <summary>A char-encoded byte.</summary>
    Character,

    /// <summary>A char array: a string when bpftool would print one, else its numbers.</summary>
    Text,

    /// <summary>Something with no value to print (a forward declaration, a function, void).</summary>
    Other,
}
