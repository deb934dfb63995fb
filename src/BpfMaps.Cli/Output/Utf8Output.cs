using System.Runtime.CompilerServices;
using System.Buffers.Text;

namespace BpfMaps.Cli.Output;

/// <summary>
/// A reused 64 KiB byte buffer in front of a stream, for renderers that write many short pieces (a BTF
/// dump of vmlinux is 126k types and 300k lines): bytes and numbers are copied and formatted into the
/// buffer, which goes to the stream only when full, so nothing is allocated per piece.
/// </summary>
/// <remarks>Its methods are fully optimized from the first call, as are the renderers' loops that call them.</remarks>
/// <param name="output">Where the bytes go.</param>
internal sealed class Utf8Output(Stream output)
{
    private const int Size = 1 << 16;

    // Room for one number (20 digits and a sign) or a short fixed word.
    private const int Room = 32;

    private readonly byte[] _buffer = new byte[Size];
    private int _used;

    /// <summary>Writes bytes.</summary>
    /// <param name="bytes">The bytes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > Size - _used)
        {
            Drain();
            if (bytes.Length > Size)
            {
                output.Write(bytes);
                return;
            }
        }

        bytes.CopyTo(_buffer.AsSpan(_used));
        _used += bytes.Length;
    }

    /// <summary>Writes one byte.</summary>
    /// <param name="b">The byte.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Write(byte b)
    {
        if (_used == Size)
        {
            Drain();
        }

        _buffer[_used++] = b;
    }

    /// <summary>Writes a number in decimal.</summary>
    /// <param name="value">The number.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Number(ulong value)
    {
        Reserve();
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_used), out int n);
        _used += n;
    }

    /// <summary>Writes a number in decimal.</summary>
    /// <param name="value">The number.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Number(long value)
    {
        Reserve();
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_used), out int n);
        _used += n;
    }

    /// <summary>Writes a number in decimal.</summary>
    /// <param name="value">The number.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Number(uint value)
    {
        Reserve();
        Utf8Formatter.TryFormat(value, _buffer.AsSpan(_used), out int n);
        _used += n;
    }

    /// <summary>Writes what is buffered to the stream and flushes the stream.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Flush()
    {
        Drain();
        output.Flush();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Reserve()
    {
        if (Size - _used < Room)
        {
            Drain();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Drain()
    {
        output.Write(_buffer, 0, _used);
        _used = 0;
    }
}
