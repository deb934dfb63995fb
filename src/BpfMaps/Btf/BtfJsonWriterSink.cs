using System.Text.Json;

namespace BpfMaps.Btf;

/// <summary>
/// Writes formatted values through a <see cref="Utf8JsonWriter"/>, so they nest in a larger document and
/// follow its indentation (<c>bpftool -p</c>).
/// </summary>
public readonly struct BtfJsonWriterSink : IBtfValueSink
{
    private readonly Utf8JsonWriter _w;

    /// <summary>Creates a sink over <paramref name="writer"/>.</summary>
    /// <param name="writer">The writer.</param>
    public BtfJsonWriterSink(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _w = writer;
    }

    /// <inheritdoc />
    public void StartObject() => _w.WriteStartObject();

    /// <inheritdoc />
    public void EndObject() => _w.WriteEndObject();

    /// <inheritdoc />
    public void StartArray() => _w.WriteStartArray();

    /// <inheritdoc />
    public void EndArray() => _w.WriteEndArray();

    /// <inheritdoc />
    public void WriteName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        _w.WritePropertyName(name.Encoded);
    }

    /// <inheritdoc />
    public void WriteUnsigned(ulong value) => _w.WriteNumberValue(value);

    /// <inheritdoc />
    public void WriteSigned(long value) => _w.WriteNumberValue(value);

    /// <inheritdoc />
    public void WriteBoolean(bool value) => _w.WriteBooleanValue(value);

    /// <inheritdoc />
    public void WriteFloat(double value, bool fromFloat32)
    {
        if (!double.IsFinite(value))
        {
            _w.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
        else if (fromFloat32)
        {
            _w.WriteNumberValue((float)value);
        }
        else
        {
            _w.WriteNumberValue(value);
        }
    }

    /// <inheritdoc />
    public void WriteHex(UInt128 value)
    {
        Span<byte> s = stackalloc byte[34];
        _w.WriteStringValue(s[..BtfTextSink.FormatHex(value, s)]);
    }

    /// <inheritdoc />
    public void WriteString(ReadOnlySpan<byte> ascii) => _w.WriteStringValue(ascii);

    /// <inheritdoc />
    public void WriteEnumName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        _w.WriteStringValue(name.Encoded);
    }

    /// <inheritdoc />
    public void WritePointer(ulong value) => _w.WriteNumberValue(value);

    /// <inheritdoc />
    public void WriteChar(byte value)
    {
        ReadOnlySpan<byte> one = [value];
        _w.WriteStringValue(one);
    }

    /// <inheritdoc />
    public void WriteMarker(string marker) => _w.WriteStringValue(marker);
}
