using System.Buffers;

namespace BpfMaps.Events;

/// <summary>A record copied out of a ring into an array from <see cref="ArrayPool{T}.Shared"/>; disposing returns the array.</summary>
internal sealed class PooledRecord : IMemoryOwner<byte>
{
    private byte[]? _array;
    private readonly int _length;

    private PooledRecord(byte[] array, int length)
    {
        _array = array;
        _length = length;
    }

    public Memory<byte> Memory
    {
        get
        {
            byte[]? a = _array;
            ObjectDisposedException.ThrowIf(a is null, this);
            return a.AsMemory(0, _length);
        }
    }

    public static PooledRecord Copy(ReadOnlySpan<byte> record)
    {
        byte[] array = ArrayPool<byte>.Shared.Rent(Math.Max(record.Length, 1));
        record.CopyTo(array);
        return new PooledRecord(array, record.Length);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _array, null) is { } a)
        {
            ArrayPool<byte>.Shared.Return(a);
        }
    }
}
