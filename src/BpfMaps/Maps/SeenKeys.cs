using System.Buffers;
using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>
/// The keys a get_next_key pass has met, in the order it first met them, with O(1) membership and,
/// per key, a mark the walk uses to tell where the key lies relative to its position.
/// Keys live back to back in one pooled slab and an open-addressing index points into it,
/// so adding a key allocates nothing except when the storage doubles.
/// </summary>
internal sealed class SeenKeys : IDisposable
{
    private readonly int _keySize;
    private byte[] _slab;
    private int[] _marks; // ordinal -> mark
    private int[] _index; // slot -> ordinal + 1 (0 = empty)
    private int _count;

    public SeenKeys(int keySize, int initialCapacity = 256)
    {
        _keySize = Math.Max(keySize, 1);
        _slab = ArrayPool<byte>.Shared.Rent(_keySize * initialCapacity);
        _marks = ArrayPool<int>.Shared.Rent(initialCapacity);
        _index = ArrayPool<int>.Shared.Rent(NextPow2(initialCapacity * 2));
        Array.Clear(_index);
    }

    public int Count => _count;

    public ReadOnlySpan<byte> KeyAt(int ordinal) => _slab.AsSpan(ordinal * _keySize, _keySize);

    public int MarkOf(int ordinal) => _marks[ordinal];

    public void SetMark(int ordinal, int mark) => _marks[ordinal] = mark;

    /// <summary>Ordinal of <paramref name="key"/>, or -1.</summary>
    public int Find(ReadOnlySpan<byte> key)
    {
        int mask = IndexMask;
        for (int slot = Hash(key) & mask; ; slot = (slot + 1) & mask)
        {
            int v = _index[slot];
            if (v == 0)
            {
                return -1;
            }

            if (KeyAt(v - 1).SequenceEqual(key))
            {
                return v - 1;
            }
        }
    }

    /// <summary>Adds a key not yet present, with its mark; returns its ordinal.</summary>
    public int Add(ReadOnlySpan<byte> key, int mark)
    {
        if ((_count + 1) * _keySize > _slab.Length || _count + 1 > _marks.Length || (_count + 1) * 2 > IndexMask + 1)
        {
            Grow();
        }

        int ordinal = _count++;
        key.CopyTo(_slab.AsSpan(ordinal * _keySize));
        _marks[ordinal] = mark;
        Insert(ordinal);
        return ordinal;
    }

    public void Clear()
    {
        _count = 0;
        Array.Clear(_index);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_slab);
        ArrayPool<int>.Shared.Return(_marks);
        ArrayPool<int>.Shared.Return(_index);
        _slab = [];
        _marks = [];
        _index = [];
    }

    private int IndexMask => NextPow2Floor(_index.Length) - 1;

    private void Insert(int ordinal)
    {
        int mask = IndexMask;
        int slot = Hash(KeyAt(ordinal)) & mask;
        while (_index[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }

        _index[slot] = ordinal + 1;
    }

    private void Grow()
    {
        byte[] slab = ArrayPool<byte>.Shared.Rent(Math.Max(_slab.Length * 2, _keySize * 16));
        _slab.AsSpan(0, _count * _keySize).CopyTo(slab);
        ArrayPool<byte>.Shared.Return(_slab);
        _slab = slab;
        int[] marks = ArrayPool<int>.Shared.Rent(Math.Max(_marks.Length * 2, 16));
        _marks.AsSpan(0, _count).CopyTo(marks);
        ArrayPool<int>.Shared.Return(_marks);
        _marks = marks;
        ArrayPool<int>.Shared.Return(_index);
        _index = ArrayPool<int>.Shared.Rent(NextPow2(Math.Max(_count + 1, 16) * 4));
        Array.Clear(_index);
        for (int i = 0; i < _count; i++)
        {
            Insert(i);
        }
    }

    private static int Hash(ReadOnlySpan<byte> key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return h.ToHashCode() & int.MaxValue;
    }

    private static int NextPow2(int n)
    {
        int p = 16;
        while (p < n)
        {
            p <<= 1;
        }

        return p;
    }

    private static int NextPow2Floor(int n)
    {
        int p = 1;
        while (p * 2 <= n)
        {
            p <<= 1;
        }

        return p;
    }
}
