using System.Buffers;

namespace BpfMaps.Exporter.Reading;

/// <summary>A growable byte buffer on <see cref="ArrayPool{T}.Shared"/>, for text and protobuf written once per scrape or push.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialSize = 16 * 1024) => _buffer = ArrayPool<byte>.Shared.Rent(initialSize);

    /// <summary>The bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>The bytes written so far.</summary>
    public Span<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>How many bytes have been written.</summary>
    public int Length => _written;

    /// <summary>Forgets what was written, keeping the buffer.</summary>
    public void Clear() => _written = 0;

    /// <summary>Shortens what was written to <paramref name="length"/> bytes.</summary>
    public void Truncate(int length) => _written = length;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        int need = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= need)
        {
            return;
        }

        byte[] bigger = ArrayPool<byte>.Shared.Rent(checked(Math.Max(_buffer.Length * 2, _written + need)));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _written = 0;
    }
}
