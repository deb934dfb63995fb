using System.Runtime.CompilerServices;
using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace BpfMaps.Cli.Output;

/// <summary>
/// JSON laid out as bpftool's json_writer lays it out: compact, or with <c>-p</c> a newline and four spaces
/// per level before every member name and closing bracket, but none before array elements (bpftool prints
/// <c>},{</c> between objects of an array). Unlike bpftool 7.1, strings are escaped as JSON requires:
/// 7.1 writes a backslash as <c>\n</c> and control bytes other than \t \n \r \f \b raw.
/// Streams into a <see cref="Utf8Output"/>; nothing is allocated per value.
/// </summary>
/// <remarks>Its methods are fully optimized from the first call (a vmlinux dump calls them millions of times in a fraction of a second).</remarks>
/// <param name="output">Where to write.</param>
/// <param name="pretty">bpftool's <c>-p</c> layout.</param>
internal sealed class BpftoolJsonWriter(Utf8Output output, bool pretty)
{
    // Bytes a string can hold as they are: printable ASCII other than the quote and the backslash.
    private static readonly SearchValues<byte> s_plain = SearchValues.Create(
        Enumerable.Range(0x20, 0x60).Where(b => b is not '"' and not '\\').Select(b => (byte)b).ToArray());

    private int _depth;

    // bpftool's sep: whether the next value or name needs a comma before it.
    private bool _comma;

    /// <summary>Starts an object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void StartObject() => Begin((byte)'{');

    /// <summary>Ends an object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EndObject() => End((byte)'}');

    /// <summary>Starts an array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void StartArray() => Begin((byte)'[');

    /// <summary>Ends an array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EndArray() => End((byte)']');

    /// <summary>Writes a member name; the next call writes its value.</summary>
    /// <param name="name">The name, ASCII that needs no escaping.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Name(ReadOnlySpan<byte> name)
    {
        Separate();
        NewLine();
        _comma = false;
        output.Write((byte)'"');
        output.Write(name);
        output.Write(pretty ? "\": "u8 : "\":"u8);
    }

    /// <summary>Writes a number.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Value(ulong value)
    {
        Separate();
        output.Number(value);
    }

    /// <summary>Writes a number.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Value(long value)
    {
        Separate();
        output.Number(value);
    }

    /// <summary>Writes true or false.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Value(bool value)
    {
        Separate();
        output.Write(value ? "true"u8 : "false"u8);
    }

    /// <summary>Writes a string, escaped; bytes that are not UTF-8 become U+FFFD.</summary>
    /// <param name="utf8">The string's bytes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void String(ReadOnlySpan<byte> utf8)
    {
        Separate();
        output.Write((byte)'"');
        int i = utf8.IndexOfAnyExcept(s_plain);
        if (i < 0)
        {
            output.Write(utf8);
        }
        else if (utf8[i..].ContainsAnyInRange((byte)0x80, (byte)0xff) && !Utf8.IsValid(utf8))
        {
            Escaped(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(utf8)));
        }
        else
        {
            output.Write(utf8[..i]);
            Escaped(utf8[i..]);
        }

        output.Write((byte)'"');
    }

    /// <summary>Writes a string.</summary>
    /// <param name="value">The string.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void String(string value) => String(Encoding.UTF8.GetBytes(value));

    /// <summary>Writes <c>"name": value</c>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Field(ReadOnlySpan<byte> name, ulong value)
    {
        Name(name);
        Value(value);
    }

    /// <summary>Writes <c>"name": value</c>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Field(ReadOnlySpan<byte> name, long value)
    {
        Name(name);
        Value(value);
    }

    /// <summary>Writes <c>"name": "value"</c>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value's UTF-8 bytes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Field(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Name(name);
        String(value);
    }

    /// <summary>
    /// Writes a JSON value given as compact UTF-8 text (a BTF sink's output), token by token in this writer's layout:
    /// numbers, strings and literals keep their exact text.
    /// </summary>
    /// <param name="json">One complete JSON value.</param>
    public void Json(ReadOnlySpan<byte> json)
    {
        var reader = new System.Text.Json.Utf8JsonReader(json);
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case System.Text.Json.JsonTokenType.StartObject:
                    StartObject();
                    break;
                case System.Text.Json.JsonTokenType.EndObject:
                    EndObject();
                    break;
                case System.Text.Json.JsonTokenType.StartArray:
                    StartArray();
                    break;
                case System.Text.Json.JsonTokenType.EndArray:
                    EndArray();
                    break;
                case System.Text.Json.JsonTokenType.PropertyName:
                    Separate();
                    NewLine();
                    _comma = false;
                    output.Write((byte)'"');
                    output.Write(reader.ValueSpan);
                    output.Write(pretty ? "\": "u8 : "\":"u8);
                    break;
                case System.Text.Json.JsonTokenType.String:
                    Separate();
                    output.Write((byte)'"');
                    output.Write(reader.ValueSpan);
                    output.Write((byte)'"');
                    break;
                default:
                    Separate();
                    output.Write(reader.ValueSpan);
                    break;
            }
        }
    }

    /// <summary>Forgets the separator state, to start a new document on the same output (ndjson).</summary>
    public void Reset()
    {
        _depth = 0;
        _comma = false;
    }

    /// <summary>Ends the document with bpftool's newline and flushes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Finish()
    {
        output.Write((byte)'\n');
        output.Flush();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Escaped(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s)
        {
            switch (b)
            {
                case (byte)'"':
                    output.Write("\\\""u8);
                    break;
                case (byte)'\\':
                    output.Write("\\\\"u8);
                    break;
                case (byte)'\n':
                    output.Write("\\n"u8);
                    break;
                case (byte)'\t':
                    output.Write("\\t"u8);
                    break;
                case (byte)'\r':
                    output.Write("\\r"u8);
                    break;
                case (byte)'\b':
                    output.Write("\\b"u8);
                    break;
                case (byte)'\f':
                    output.Write("\\f"u8);
                    break;
                case < 0x20:
                    output.Write("\\u00"u8);
                    output.Write(HexDigit(b >> 4));
                    output.Write(HexDigit(b & 0xf));
                    break;
                default:
                    output.Write(b);
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static byte HexDigit(int n) => (byte)(n < 10 ? '0' + n : 'a' + n - 10);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Begin(byte c)
    {
        Separate();
        output.Write(c);
        _depth++;
        _comma = false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void End(byte c)
    {
        _depth--;
        if (_comma)
        {
            NewLine();
        }

        output.Write(c);
        _comma = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Separate()
    {
        if (_comma)
        {
            output.Write((byte)',');
        }

        _comma = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void NewLine()
    {
        if (!pretty)
        {
            return;
        }

        output.Write((byte)'\n');
        for (int i = 0; i < _depth; i++)
        {
            output.Write("    "u8);
        }
    }
}
