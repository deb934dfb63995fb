using System.Text.Json;
using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool-compatible JSON: a dump is an array of entry objects, a lookup one object. Compact output of
/// plain and per-CPU entries (what <see cref="BpftoolJson.CanFormatRaw"/> allows) is formatted straight
/// into a 1 MiB buffer that goes to the output when full, <c>formatted</c> included; everything else
/// streams through a <see cref="Utf8JsonWriter"/> that is flushed to the (buffered) output every 64 KiB.
/// </summary>
internal sealed class JsonEntryRenderer : IEntryRenderer
{
    private const int FlushAt = 1 << 16;
    private static readonly JsonEncodedText ErrorName = JsonEncodedText.Encode("error");

    private readonly Stream _out;
    private readonly EntryLayout _layout;
    private readonly bool _single;
    private readonly bool _newline;
    private readonly byte[] _scratch;

    // Raw mode: entries are formatted into _raw; otherwise through _w.
    private readonly StreamBufferWriter? _raw;
    private readonly int _rawEntrySize;
    private readonly Utf8JsonWriter? _w;
    private readonly System.Buffers.ArrayBufferWriter<byte>? _formatted;
    private long _entries;

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
        _scratch = new byte[Math.Max(BpftoolJson.ScratchSize(Math.Max(layout.KeySize, layout.ValueSize)), BpftoolJson.EntryScratchSize(layout))];
        if (BpftoolJson.CanFormatRaw(layout, pretty))
        {
            _raw = new StreamBufferWriter(output);
            _rawEntrySize = BpftoolJson.EntryScratchSize(layout) + 1;
        }
        else
        {
            _w = new Utf8JsonWriter(output, BpftoolJson.Options(pretty));
            _formatted = layout.Btf is null ? null : new System.Buffers.ArrayBufferWriter<byte>(1024);
        }
    }

    /// <inheritdoc />
    public void Begin()
    {
        if (_single)
        {
            return;
        }

        if (_raw is not null)
        {
            Put("["u8);
        }
        else
        {
            _w!.WriteStartArray();
        }
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (_raw is null)
        {
            BpftoolJson.WriteEntry(_w!, _layout, key, value, _scratch, _formatted);
            if (_w!.BytesPending > FlushAt)
            {
                _w.Flush();
            }

            return;
        }

        Span<byte> d = _raw.GetSpan(_rawEntrySize);
        int o = 0;
        if (_entries++ > 0 && !_single)
        {
            d[o++] = (byte)',';
        }

        o += BpftoolJson.FormatRaw(_layout, key, value, d[o..]);
        if (_layout.Btf is not { } btf)
        {
            _raw.Advance(o);
            return;
        }

        // bpftool's "formatted" member goes last: reopen the object FormatRaw closed.
        _raw.Advance(o - 1);
        Put(",\"formatted\":"u8);
        var sink = new BtfJsonSink(_raw);
        btf.Write(ref sink, key, value);
        Put("}"u8);
    }

    /// <inheritdoc />
    public void End(long count)
    {
        if (_raw is not null)
        {
            if (!_single)
            {
                Put("]"u8);
            }

            if (_newline)
            {
                Put("\n"u8);
            }

            _raw.Flush();
            _out.Flush();
            return;
        }

        if (!_single)
        {
            _w!.WriteEndArray();
        }

        _w!.Flush();
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

        if (_raw is not null)
        {
            // What Utf8JsonWriter writes for the object below: {"error":"..."} after a comma.
            Put(_entries > 0 ? ",{"u8 : "{"u8);
            Put(ErrorName.EncodedUtf8Bytes, quoted: true);
            Put(":"u8);
            Put(JsonEncodedText.Encode(message, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes, quoted: true);
            Put("}"u8);
            End(-1);
            return true;
        }

        _w!.WriteStartObject();
        _w.WriteString(ErrorName, message);
        _w.WriteEndObject();
        End(-1);
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _w?.Dispose();

    private void Put(ReadOnlySpan<byte> bytes, bool quoted = false)
    {
        int n = bytes.Length + (quoted ? 2 : 0);
        Span<byte> d = _raw!.GetSpan(n);
        if (quoted)
        {
            d[0] = (byte)'"';
            bytes.CopyTo(d[1..]);
            d[n - 1] = (byte)'"';
        }
        else
        {
            bytes.CopyTo(d);
        }

        _raw.Advance(n);
    }
}
