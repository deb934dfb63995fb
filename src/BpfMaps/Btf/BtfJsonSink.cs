using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps.Btf;

/// <summary>
/// Writes formatted values as compact JSON, the <c>formatted</c> member of <c>bpftool -j</c>, straight
/// into an <see cref="IBufferWriter{T}"/>. Strings are escaped for JSON; floats that JSON cannot hold
/// (NaN, infinities) are written as strings.
/// </summary>
/// <remarks>
/// The sink asks the writer for room a chunk at a time (4 KiB, or more for a long token) and writes
/// tokens into it at a position; it advances the writer when a chunk is full and when a top-level value
/// is complete, so everything written is in the writer once <see cref="BtfFormatter.Write{TSink}"/> or
/// <see cref="BtfEntryFormatter.Write{TSink}"/> returns. Nothing else may write to the writer while a
/// value is being written.
/// </remarks>
public struct BtfJsonSink : IBtfValueSink
{
    private const int Chunk = 4096;

    private readonly IBufferWriter<byte> _out;
    private byte[]? _array;
    private Memory<byte> _memory;
    private int _start;
    private int _pos;
    private int _end;
    private int _depth;
    private bool _comma;

    /// <summary>Creates a sink over <paramref name="output"/>.</summary>
    /// <param name="output">Where the bytes go.</param>
    public BtfJsonSink(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _out = output;
    }

    /// <inheritdoc />
    public void StartObject() => Open((byte)'{');

    /// <inheritdoc />
    public void EndObject() => Close((byte)'}');

    /// <inheritdoc />
    public void StartArray() => Open((byte)'[');

    /// <inheritdoc />
    public void EndArray() => Close((byte)']');

    /// <inheritdoc />
    public void WriteName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);

        // ,"name": with its comma, or without it for an object's first member, copied 16 bytes at a time:
        // the token is padded and the room asked for covers the last word.
        byte[] token = name.MemberToken;
        int skip = _comma ? 0 : 1;
        int length = name.MemberLength - skip;
        ref byte d = ref Room(length + 16);
        ref byte s = ref token[skip];
        for (int i = 0; i < length; i += 16)
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, i), Unsafe.ReadUnaligned<System.Runtime.Intrinsics.Vector128<byte>>(ref Unsafe.Add(ref s, i)));
        }

        _pos += length;
        _comma = false;
    }

    /// <inheritdoc />
    public void WriteUnsigned(ulong value)
    {
        ref byte d = ref Room(1 + AsciiDigits.MaxUnsigned);
        int o = Comma(ref d);
        Done(o + AsciiDigits.WriteUnsigned(value, ref Unsafe.Add(ref d, o)));
    }

    /// <inheritdoc />
    public void WriteSigned(long value)
    {
        ref byte d = ref Room(1 + AsciiDigits.MaxSigned);
        int o = Comma(ref d);
        Done(o + AsciiDigits.WriteSigned(value, ref Unsafe.Add(ref d, o)));
    }

    /// <inheritdoc />
    public void WriteBoolean(bool value) => Literal(value ? "true"u8 : "false"u8);

    /// <inheritdoc />
    public void WriteFloat(double value, bool fromFloat32)
    {
        if (!double.IsFinite(value))
        {
            Literal(double.IsNaN(value) ? "\"NaN\""u8 : value > 0 ? "\"Infinity\""u8 : "\"-Infinity\""u8);
            return;
        }

        const int Max = 32;
        ref byte d = ref Room(1 + Max);
        int o = Comma(ref d);
        Span<byte> s = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, o), Max);
        int n;
        if (fromFloat32)
        {
            ((float)value).TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }
        else
        {
            value.TryFormat(s, out n, default, CultureInfo.InvariantCulture);
        }

        Done(o + n);
    }

    /// <inheritdoc />
    public void WriteHex(UInt128 value)
    {
        const int Max = 34;
        ref byte d = ref Room(1 + Max + 2);
        int o = Comma(ref d);
        Unsafe.Add(ref d, o) = (byte)'"';
        int n = BtfTextSink.FormatHex(value, MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, o + 1), Max));
        Unsafe.Add(ref d, o + 1 + n) = (byte)'"';
        Done(o + n + 2);
    }

    /// <inheritdoc />
    public void WriteString(ReadOnlySpan<byte> ascii)
    {
        ref byte d = ref Room(1 + (2 * ascii.Length) + 2);
        int o = Comma(ref d);
        Unsafe.Add(ref d, o++) = (byte)'"';
        if (ascii.IndexOfAny((byte)'"', (byte)'\\') < 0)
        {
            ascii.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, o), ascii.Length));
            o += ascii.Length;
        }
        else
        {
            foreach (byte b in ascii)
            {
                if (b is (byte)'"' or (byte)'\\')
                {
                    Unsafe.Add(ref d, o++) = (byte)'\\';
                }

                Unsafe.Add(ref d, o++) = b;
            }
        }

        Unsafe.Add(ref d, o++) = (byte)'"';
        Done(o);
    }

    /// <inheritdoc />
    public void WriteEnumName(BtfName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Literal(name.Quoted);
    }

    /// <inheritdoc />
    public void WritePointer(ulong value) => WriteUnsigned(value);

    /// <inheritdoc />
    public void WriteChar(byte value)
    {
        if (value is >= 0x20 and < 0x7f)
        {
            ReadOnlySpan<byte> one = [value];
            WriteString(one);
            return;
        }

        ref byte d = ref Room(1 + 8);
        int o = Comma(ref d);
        Span<byte> s = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, o), 8);
        "\"\\u00"u8.CopyTo(s);
        s[5] = BtfTextSink.HexDigit(value >> 4);
        s[6] = BtfTextSink.HexDigit(value & 0xf);
        s[7] = (byte)'"';
        Done(o + 8);
    }

    /// <inheritdoc />
    public void WriteMarker(string marker)
    {
        ArgumentNullException.ThrowIfNull(marker);
        ref byte d = ref Room(1 + marker.Length + 2);
        int o = Comma(ref d);
        Span<byte> s = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, o), marker.Length + 2);
        s[0] = (byte)'"';
        int n = System.Text.Encoding.ASCII.GetBytes(marker, s[1..]);
        s[n + 1] = (byte)'"';
        Done(o + n + 2);
    }

    /// <summary>Starts a value that <see cref="AppendLiteral"/> and the appends write: its comma, if it needs one.</summary>
    internal void BeginValue()
    {
        ref byte d = ref Room(1);
        _pos += Comma(ref d);
        _depth++;
    }

    /// <summary>Ends the value <see cref="BeginValue"/> started.</summary>
    internal void EndValue()
    {
        _depth--;
        _comma = true;
        if (_depth <= 0)
        {
            Commit();
        }
    }

    /// <summary>After a literal that ends in a separator, the next value needs no comma.</summary>
    internal void ResumeAfterLiteral() => _comma = false;

    /// <summary>
    /// Copies <paramref name="length"/> bytes of <paramref name="literals"/> from <paramref name="start"/>, 16
    /// at a time: <paramref name="literals"/> must have 16 bytes past the run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AppendLiteral(byte[] literals, int start, int length)
    {
        if ((uint)start > (uint)literals.Length || (uint)(length + 16) > (uint)(literals.Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a run at {start} of {length} bytes and 16 of padding is outside the {literals.Length} literal bytes");
        }

        ref byte d = ref Room(length + 16);
        ref byte s = ref literals[start];
        for (int i = 0; i < length; i += 16)
        {
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, i), Unsafe.ReadUnaligned<System.Runtime.Intrinsics.Vector128<byte>>(ref Unsafe.Add(ref s, i)));
        }

        _pos += length;
    }

    /// <summary>An unsigned integer with no comma before it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AppendUnsigned(ulong value) => _pos += AsciiDigits.WriteUnsigned(value, ref Room(AsciiDigits.MaxUnsigned));

    /// <summary>A signed integer with no comma before it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void AppendSigned(long value) => _pos += AsciiDigits.WriteSigned(value, ref Room(AsciiDigits.MaxSigned));

    private void Open(byte c)
    {
        ref byte d = ref Room(2);
        int o = Comma(ref d);
        Unsafe.Add(ref d, o) = c;
        _pos += o + 1;
        _depth++;
        _comma = false;
    }

    private void Close(byte c)
    {
        Room(1) = c;
        _pos++;
        _depth--;
        _comma = true;
        if (_depth <= 0)
        {
            Commit();
        }
    }

    private void Literal(ReadOnlySpan<byte> text)
    {
        ref byte d = ref Room(1 + text.Length);
        int o = Comma(ref d);
        text.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref d, o), text.Length));
        Done(o + text.Length);
    }

    /// <summary>Writes the comma a value after another needs; returns its length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int Comma(ref byte d)
    {
        if (_comma)
        {
            d = (byte)',';
            return 1;
        }

        return 0;
    }

    /// <summary>A scalar value of <paramref name="written"/> bytes (comma included) is complete.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Done(int written)
    {
        _pos += written;
        _comma = true;
        if (_depth <= 0)
        {
            Commit();
        }
    }

    /// <summary>The write position, with room for <paramref name="need"/> bytes after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Room(int need)
    {
        if (_end - _pos < need)
        {
            Grow(need);
        }

        return ref _array is not null
            ? ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_array), _pos)
            : ref Unsafe.Add(ref MemoryMarshal.GetReference(_memory.Span), _pos);
    }

    /// <summary>Hands what is written to the writer and takes a new chunk of at least <paramref name="need"/> bytes.</summary>
    private void Grow(int need)
    {
        Commit();
        Memory<byte> m = _out.GetMemory(Math.Max(need, Chunk));
        if (m.Length < need)
        {
            throw new InvalidOperationException($"the buffer writer gave {m.Length} bytes when asked for {need}");
        }

        if (MemoryMarshal.TryGetArray(m, out ArraySegment<byte> segment))
        {
            _array = segment.Array;
            _start = _pos = segment.Offset;
            _end = segment.Offset + segment.Count;
        }
        else
        {
            _memory = m;
            _start = _pos = 0;
            _end = m.Length;
        }
    }

    /// <summary>Advances the writer past what is written; the next token takes a new chunk.</summary>
    private void Commit()
    {
        if (_pos > _start)
        {
            _out.Advance(_pos - _start);
        }

        _array = null;
        _memory = default;
        _start = _pos = _end = 0;
    }
}
