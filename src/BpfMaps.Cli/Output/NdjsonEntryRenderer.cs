using System.Buffers;
using System.Text.Json;

namespace BpfMaps.Cli.Output;

/// <summary>
/// One bpftool-shaped JSON object per line: easy to stream into jq or a log shipper. Each line is built
/// in a small reused buffer and copied to the (buffered) output, so nothing grows with the map.
/// </summary>
internal sealed class NdjsonEntryRenderer : IEntryRenderer
{
    private readonly Stream _out;
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _w;
    private readonly EntryLayout _layout;
    private readonly byte[] _scratch;

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="layout">The entry layout.</param>
    public NdjsonEntryRenderer(Stream output, EntryLayout layout)
    {
        _out = output;
        _layout = layout;
        _w = new Utf8JsonWriter(_buffer, BpftoolJson.Options(pretty: false));
        _scratch = new byte[Math.Max(BpftoolJson.ScratchSize(Math.Max(layout.KeySize, layout.ValueSize)), BpftoolJson.EntryScratchSize(layout))];
    }

    /// <inheritdoc />
    public void Begin()
    {
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        BpftoolJson.WriteEntry(_w, _layout, key, value, _scratch);
        _w.Flush();
        _out.Write(_buffer.WrittenSpan);
        _out.Write("\n"u8);
        _buffer.ResetWrittenCount();
        _w.Reset(_buffer);
    }

    /// <inheritdoc />
    public void End(long count)
    {
        _out.Flush();
        _w.Dispose();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        // The error is the last line, shaped like bpftool's error object.
        _w.WriteStartObject();
        _w.WriteString("error", message);
        _w.WriteEndObject();
        _w.Flush();
        _out.Write(_buffer.WrittenSpan);
        _out.Write("\n"u8);
        End(-1);
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _w.Dispose();
}
