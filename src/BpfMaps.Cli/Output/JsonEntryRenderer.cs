using System.Text.Json;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool-compatible JSON: a dump is an array of entry objects, a lookup one object. Streams through
/// a <see cref="Utf8JsonWriter"/> that is flushed to the (buffered) output every 64 KiB.
/// </summary>
internal sealed class JsonEntryRenderer : IEntryRenderer
{
    private const int FlushAt = 1 << 16;
    private readonly Stream _out;
    private readonly Utf8JsonWriter _w;
    private readonly EntryLayout _layout;
    private readonly bool _single;
    private readonly bool _newline;
    private readonly byte[] _scratch;
    private readonly System.Buffers.ArrayBufferWriter<byte>? _formatted;

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="pretty">Indent (<c>-p</c>).</param>
    /// <param name="single">One object instead of an array (lookup).</param>
    /// <param name="trailingNewline">End with a newline (not when nested in a larger document).</param>
    public JsonEntryRenderer(Stream output, EntryLayout layout, bool pretty, bool single = false, bool trailingNewline = true)
    {
        _newline = trailingNewline;
        _out = output;
        _layout = layout;
        _single = single;
        _w = new Utf8JsonWriter(output, BpftoolJson.Options(pretty));
        _scratch = new byte[Math.Max(BpftoolJson.ScratchSize(Math.Max(layout.KeySize, layout.ValueSize)), BpftoolJson.EntryScratchSize(layout))];
        _formatted = layout.Btf is null ? null : new System.Buffers.ArrayBufferWriter<byte>(1024);
    }

    /// <inheritdoc />
    public void Begin()
    {
        if (!_single)
        {
            _w.WriteStartArray();
        }
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        BpftoolJson.WriteEntry(_w, _layout, key, value, _scratch, _formatted);
        if (_w.BytesPending > FlushAt)
        {
            _w.Flush();
        }
    }

    /// <inheritdoc />
    public void End(long count)
    {
        if (!_single)
        {
            _w.WriteEndArray();
        }

        _w.Flush();
        if (_newline)
        {
            _out.Write("\n"u8);
        }

        _out.Flush();
        _w.Dispose();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        if (_single)
        {
            return false;
        }

        _w.WriteStartObject();
        _w.WriteString("error", message);
        _w.WriteEndObject();
        End(-1);
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _w.Dispose();
}
