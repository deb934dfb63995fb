using System.Buffers;
using System.Text.Json;

namespace BpfMaps.Cli.Output;

/// <summary>
/// NDJSON for a map with BTF: one flat object per line, a member per field column
/// (<c>{"key.saddr":…,"value.comm":"bash",…}</c>): numbers as numbers, strings and enum names as strings.
/// </summary>
internal sealed class NdjsonFieldRenderer : IEntryRenderer
{
    private readonly Stream _out;
    private readonly FieldColumns _columns;
    private readonly JsonEncodedText[] _names;
    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _w;

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="columns">The field columns.</param>
    public NdjsonFieldRenderer(Stream output, FieldColumns columns)
    {
        _out = output;
        _columns = columns;
        _names = [.. columns.All.Select(c => JsonEncodedText.Encode(c.Name))];
        _w = new Utf8JsonWriter(_buffer, BpftoolJson.Options(pretty: false));
    }

    /// <inheritdoc />
    public void Begin()
    {
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _w.WriteStartObject();
        for (int i = 0; i < _names.Length; i++)
        {
            _w.WritePropertyName(_names[i]);
            _columns.WriteJson(_columns.All[i], _w, key, value);
        }

        _w.WriteEndObject();
        _w.Flush();
        _w.Reset();
        _buffer.Write("\n"u8);
        if (_buffer.WrittenCount > 1 << 16)
        {
            Flush();
        }
    }

    /// <inheritdoc />
    public void End(long count)
    {
        Flush();
        _out.Flush();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        _w.WriteStartObject();
        _w.WriteString("error", message);
        _w.WriteEndObject();
        _w.Flush();
        _buffer.Write("\n"u8);
        End(-1);
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _w.Dispose();

    private void Flush()
    {
        _out.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
        _w.Reset(_buffer);
    }
}
