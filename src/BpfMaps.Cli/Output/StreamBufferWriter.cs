using System.Buffers;

namespace BpfMaps.Cli.Output;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over one array that is written to a stream when it is full, so a
/// renderer formats entries straight into the bytes that go out, with no copy in between.
/// </summary>
/// <param name="output">Where full buffers go.</param>
/// <param name="size">The buffer's size; a larger request grows it.</param>
internal sealed class StreamBufferWriter(Stream output, int size = 1 << 20) : IBufferWriter<byte>
{
    private byte[] _buffer = new byte[size];
    private int _written;

    /// <inheritdoc />
    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"only {_buffer.Length - _written} bytes were handed out");
        }

        _written += count;
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.AsMemory(Room(sizeHint));

    /// <inheritdoc />
    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.AsSpan(Room(sizeHint));

    /// <summary>Writes what is buffered to the stream (without flushing the stream itself).</summary>
    public void Flush()
    {
        if (_written > 0)
        {
            output.Write(_buffer, 0, _written);
            _written = 0;
        }
    }

    private int Room(int sizeHint)
    {
        int need = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written < need)
        {
            Flush();
            if (_buffer.Length < need)
            {
                _buffer = new byte[Math.Max(need, 2 * _buffer.Length)];
            }
        }

        return _written;
    }
}
