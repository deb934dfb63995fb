namespace BpfMaps.Btf;

/// <summary>
/// Where a <see cref="BtfFormatter"/> writes a value: the JSON-shaped tokens bpftool's BTF dumper emits.
/// Implemented by structs so that the walk is specialised per sink and allocates nothing.
/// </summary>
public interface IBtfValueSink
{
    /// <summary>Starts an object (a struct, union, variable or data section).</summary>
    void StartObject();

    /// <summary>Ends the object.</summary>
    void EndObject();

    /// <summary>Starts an array.</summary>
    void StartArray();

    /// <summary>Ends the array.</summary>
    void EndArray();

    /// <summary>Writes a member, variable or section name.</summary>
    /// <param name="name">The name, pre-encoded.</param>
    void WriteName(BtfName name);

    /// <summary>An unsigned integer.</summary>
    /// <param name="value">The value.</param>
    void WriteUnsigned(ulong value);

    /// <summary>A signed integer.</summary>
    /// <param name="value">The value.</param>
    void WriteSigned(long value);

    /// <summary>A bool.</summary>
    /// <param name="value">The value.</param>
    void WriteBoolean(bool value);

    /// <summary>A floating-point number (float, double or half).</summary>
    /// <param name="value">The value.</param>
    /// <param name="fromFloat32">Whether it came from 4 bytes, so it prints with float precision.</param>
    void WriteFloat(double value, bool fromFloat32);

    /// <summary>Bits printed in hex, as bpftool prints bitfields and 128-bit integers: a string in JSON, bare in plain text.</summary>
    /// <param name="value">The bits.</param>
    void WriteHex(UInt128 value);

    /// <summary>A string of printable ASCII bytes (a char array that bpftool prints as a string).</summary>
    /// <param name="ascii">The bytes, without the NUL.</param>
    void WriteString(ReadOnlySpan<byte> ascii);

    /// <summary>An enumerator's name.</summary>
    /// <param name="name">The name, pre-encoded.</param>
    void WriteEnumName(BtfName name);

    /// <summary>A pointer value: decimal in JSON, <c>%p</c> in plain text.</summary>
    /// <param name="value">The address.</param>
    void WritePointer(ulong value);

    /// <summary>A char-encoded integer: the character when printable, else its code.</summary>
    /// <param name="value">The byte.</param>
    void WriteChar(byte value);

    /// <summary>A marker for a kind that has no value to print (void, a forward declaration, a function).</summary>
    /// <param name="marker">bpftool's text, such as <c>(fwd-kind-invalid)</c>.</param>
    void WriteMarker(string marker);
}
