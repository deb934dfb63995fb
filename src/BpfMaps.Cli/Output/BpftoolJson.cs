using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>
/// The JSON shape bpftool gives map entries: bytes as arrays of <c>"0xNN"</c> strings, per-CPU values as
/// <c>values: [{cpu, value}]</c>, and <c>inner_map_id</c> beside the value of map-in-map entries.
/// </summary>
internal static class BpftoolJson
{
    // "0xNN" for every byte, UTF-8, quotes included: entries are written as raw JSON, which is what
    // makes a million-entry dump cheap.
    private static readonly byte[] Quoted = BuildQuoted();

    // The same with a comma, as one little-endian word each: "0xNN", and a spare byte.
    private static readonly ulong[] QuotedComma = BuildQuotedComma();

    /// <summary>Writes <paramref name="bytes"/> as <c>["0x01","0x02"]</c>.</summary>
    /// <param name="w">The writer.</param>
    /// <param name="bytes">The bytes.</param>
    /// <param name="scratch">A buffer of at least <c>7 * bytes.Length + 2</c> bytes, for the compact path.</param>
    public static void WriteBytes(Utf8JsonWriter w, ReadOnlySpan<byte> bytes, Span<byte> scratch)
    {
        if (w.Options.Indented)
        {
            w.WriteStartArray();
            Span<char> s = stackalloc char[4];
            foreach (byte b in bytes)
            {
                s[0] = '0';
                s[1] = 'x';
                s[2] = (char)Quoted[(b * 6) + 3];
                s[3] = (char)Quoted[(b * 6) + 4];
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
            return;
        }

        w.WriteRawValue(scratch[..PutBytes(bytes, scratch)], skipInputValidation: true);
    }

    /// <summary>Scratch bytes <see cref="WriteBytes"/> needs for <paramref name="n"/> bytes.</summary>
    /// <param name="n">Byte count.</param>
    /// <returns>The size.</returns>
    public static int ScratchSize(int n) => (7 * n) + 2;

    /// <summary>Writes one entry as a JSON object.</summary>
    /// <param name="w">The writer.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    /// <param name="scratch">Scratch of <see cref="ScratchSize"/> for the larger of key and one CPU's value.</param>
    /// <param name="formatted">For maps with BTF: a reused buffer the compact path builds the entry in, <c>formatted</c> included.</param>
    public static void WriteEntry(Utf8JsonWriter w, EntryLayout layout, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Span<byte> scratch, ArrayBufferWriter<byte>? formatted = null)
    {
        if (CanFormatRaw(layout, w.Options.Indented) && scratch.Length >= EntryScratchSize(layout))
        {
            // The hot path of a compact dump: the whole object formatted here, handed to the writer once.
            int n = FormatRaw(layout, key, value, scratch);
            if (layout.Btf is { } btf && formatted is not null)
            {
                // bpftool's "formatted" member goes last: reopen the object the raw path closed.
                formatted.ResetWrittenCount();
                formatted.Write(scratch[..(n - 1)]);
                formatted.Write(",\"formatted\":"u8);
                var sink = new BtfJsonSink(formatted);
                btf.Write(ref sink, key, value);
                formatted.Write("}"u8);
                w.WriteRawValue(formatted.WrittenSpan, skipInputValidation: true);
                return;
            }

            w.WriteRawValue(scratch[..n], skipInputValidation: true);
            return;
        }

        w.WriteStartObject();
        w.WritePropertyName("key"u8);
        WriteBytes(w, key, scratch);
        if (!layout.PerCpu)
        {
            w.WritePropertyName("value"u8);
            WriteBytes(w, value[..layout.ValueSize], scratch);
            if (layout.MapInMap)
            {
                w.WriteNumber("inner_map_id"u8, (uint)EntryLayout.ReadUnsigned(value[..4]));
            }
        }
        else if (layout.Aggregated)
        {
            w.WritePropertyName("value"u8);
            if (layout.Mode == PerCpuMode.Avg)
            {
                w.WriteNumberValue(layout.Number(value) ?? 0);
            }
            else
            {
                w.WriteNumberValue(layout.AggregateUnsigned(value));
            }
        }
        else
        {
            w.WritePropertyName("values"u8);
            w.WriteStartArray();
            for (int c = 0; c < layout.Cpus; c++)
            {
                w.WriteStartObject();
                w.WriteNumber("cpu"u8, c);
                w.WritePropertyName("value"u8);
                WriteBytes(w, layout.CpuValue(value, c), scratch);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (layout.Btf is { } b)
        {
            w.WritePropertyName("formatted"u8);
            var sink = new BtfJsonWriterSink(w);
            b.Write(ref sink, key, value);
        }

        w.WriteEndObject();
    }

    /// <summary>Scratch bytes the one-call compact path needs for an entry of <paramref name="layout"/>.</summary>
    /// <param name="layout">The layout.</param>
    /// <returns>The size.</returns>
    public static int EntryScratchSize(EntryLayout layout)
        => 64 + ScratchSize(layout.KeySize) + (layout.Cpus * (40 + ScratchSize(layout.ValueSize)));

    /// <summary>Whether entries of <paramref name="layout"/> can be written as raw compact JSON by <see cref="FormatRaw"/>.</summary>
    /// <param name="layout">The layout.</param>
    /// <param name="pretty">Whether the output is indented.</param>
    /// <returns>True for compact output of plain and per-CPU (not reduced) entries that are not map-in-map.</returns>
    public static bool CanFormatRaw(EntryLayout layout, bool pretty) => !pretty && !layout.Aggregated && !layout.MapInMap;

    /// <summary>
    /// One entry as compact JSON without <c>formatted</c>, into <paramref name="d"/>, which must have
    /// <see cref="EntryScratchSize"/> bytes.
    /// </summary>
    /// <param name="layout">The layout (see <see cref="CanFormatRaw"/>).</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    /// <param name="d">Where to write.</param>
    /// <returns>Bytes written; the last is the object's closing brace.</returns>
    public static int FormatRaw(EntryLayout layout, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Span<byte> d)
    {
        int o = 0;
        o += Put("{\"key\":"u8, d[o..]);
        o += PutBytes(key, d[o..]);
        if (!layout.PerCpu)
        {
            o += Put(",\"value\":"u8, d[o..]);
            o += PutBytes(value[..layout.ValueSize], d[o..]);
        }
        else
        {
            o += Put(",\"values\":["u8, d[o..]);
            for (int c = 0; c < layout.Cpus; c++)
            {
                o += Put(c == 0 ? "{\"cpu\":"u8 : ",{\"cpu\":"u8, d[o..]);
                c.TryFormat(d[o..], out int n, default, System.Globalization.CultureInfo.InvariantCulture);
                o += n;
                o += Put(",\"value\":"u8, d[o..]);
                o += PutBytes(layout.CpuValue(value, c), d[o..]);
                d[o++] = (byte)'}';
            }

            d[o++] = (byte)']';
        }

        d[o++] = (byte)'}';
        return o;
    }

    private static int Put(ReadOnlySpan<byte> s, Span<byte> d)
    {
        s.CopyTo(d);
        return s.Length;
    }

    /// <summary>
    /// <c>["0x01","0x02"]</c> into <paramref name="d"/>, which must have <see cref="ScratchSize"/> bytes: each
    /// byte is one 8-byte store of <c>"0xNN",</c> and a byte the next store overwrites; the last comma
    /// becomes the closing bracket.
    /// </summary>
    private static int PutBytes(ReadOnlySpan<byte> bytes, Span<byte> d)
    {
        if (bytes.IsEmpty)
        {
            return Put("[]"u8, d);
        }

        if (d.Length < ScratchSize(bytes.Length))
        {
            throw new ArgumentException($"{bytes.Length} bytes need {ScratchSize(bytes.Length)} bytes of room, not {d.Length}", nameof(d));
        }

        ref byte o = ref MemoryMarshal.GetReference(d);
        ref ulong table = ref MemoryMarshal.GetArrayDataReference(QuotedComma);
        o = (byte)'[';
        int at = 1;
        foreach (byte b in bytes)
        {
            // The last store starts at 7n - 6 and ends at 7n + 2 = ScratchSize(n): in room.
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref o, at), Unsafe.Add(ref table, b));
            at += 7;
        }

        Unsafe.Add(ref o, at - 1) = (byte)']';
        return at;
    }

    /// <summary>Writer options: compact as bpftool <c>-j</c>, indented as <c>-p</c>.</summary>
    /// <param name="pretty">Indent.</param>
    /// <returns>The options.</returns>
    public static JsonWriterOptions Options(bool pretty) => new()
    {
        Indented = pretty,
        SkipValidation = !pretty,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static ulong[] BuildQuotedComma()
    {
        var t = new ulong[256];
        Span<byte> word = stackalloc byte[8];
        for (int b = 0; b < 256; b++)
        {
            Quoted.AsSpan(b * 6, 6).CopyTo(word);
            word[6] = (byte)',';
            word[7] = 0;
            t[b] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(word);
        }

        return t;
    }

    private static byte[] BuildQuoted()
    {
        var t = new byte[256 * 6];
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (int b = 0; b < 256; b++)
        {
            t[b * 6] = (byte)'"';
            t[(b * 6) + 1] = (byte)'0';
            t[(b * 6) + 2] = (byte)'x';
            t[(b * 6) + 3] = digits[b >> 4];
            t[(b * 6) + 4] = digits[b & 0xf];
            t[(b * 6) + 5] = (byte)'"';
        }

        return t;
    }
}
