using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace BpfMaps.InProcess.Engine;

/// <summary>The batch side of <see cref="InlineHashTable"/>: its buckets as <see cref="BucketBatch"/> walks them.</summary>
internal sealed unsafe partial class InlineHashTable
{
    /// <summary>htab's lookup (and delete) batch; see <see cref="BucketBatch"/> for the rules.</summary>
    protected override int LookupBatchOp(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => BucketBatch.Run(new BatchView(this), andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    private readonly struct BatchView(InlineHashTable table) : IBucketCopier
    {
        public uint Buckets => table._nBuckets;

        public int Copy(uint bucket, bool andDelete, Span<byte> keys, Span<byte> values, uint at, uint room)
            => table.CopyForBatch(bucket, andDelete, keys, values, at, room);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CopyForBatch(uint bucket, bool andDelete, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        Prefetch(bucket + PrefetchDistance);
        int next = Volatile.Read(ref Next(ref S(bucket)));
        if (next == Empty)
        {
            return 0;
        }

        return !andDelete && next == Inline && room > 0 && TryCopySingle(bucket, keys, values, at) ? 1
            : andDelete ? TakeBucket(bucket, keys, values, at, room) : CopyBucket(bucket, keys, values, at, room);
    }

    private const uint PrefetchDistance = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(uint bucket)
    {
        if (Sse.IsSupported && bucket < _nBuckets)
        {
            int next = Volatile.Read(ref Next(ref S(bucket)));
            if ((uint)next < (uint)_capacity)
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref P(next)));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryCopySingle(uint b, Span<byte> keys, Span<byte> values, uint at)
    {
        ref int seqRef = ref Seq(b);
        int seq = Volatile.Read(ref seqRef);
        ref byte s = ref S(b);
        if ((seq & 1) != 0 || Volatile.Read(ref Next(ref s)) != Inline)
        {
            return false;
        }

        CopyKeyOut(ref s, keys.Slice((int)at * KeySize, KeySize));
        CopyValueOut(ref s, values.Slice((int)at * _valueSize, _valueSize));
        Volatile.ReadBarrier();
        return Volatile.Read(ref seqRef) == seq;
    }

    /// <summary>Copies one bucket without its lock: how many entries (0 if it emptied meanwhile), or -1 if they do not fit in <paramref name="room"/>.</summary>
    // Out of line: inlined, its retry loop would bloat the caller's hot path.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int CopyBucket(uint b, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        var read = new BucketRead(this, b, keys, values, at, room);
        Seqlock.Read(ref Seq(b), ref read);
        return (uint)read.Count <= room ? read.Count : -1;
    }

    /// <summary>Counts a bucket's elements and, if they fit in <c>room</c>, copies them to entry <c>at</c> on.</summary>
    private ref struct BucketRead(InlineHashTable table, uint bucket, Span<byte> keys, Span<byte> values, uint at, uint room) : ISeqlockReader
    {
        private readonly Span<byte> _keys = keys;
        private readonly Span<byte> _values = values;

        public int Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            int capacity = table._capacity;
            int keySize = table.KeySize;
            int valueSize = table._valueSize;
            ref byte s = ref table.S(bucket);
            int first = Volatile.Read(ref InlineHashTable.Next(ref s));
            Count = first == Empty ? 0 : 1;
            for (int idx = first; idx >= 0; idx = InlineHashTable.Next(ref table.P(idx)))
            {
                if ((uint)idx >= (uint)capacity || ++Count > capacity + 1)
                {
                    return false;
                }
            }

            if (Count > 0 && (uint)Count <= room)
            {
                int i = (int)at;
                table.CopyKeyOut(ref s, _keys.Slice(i * keySize, keySize));
                table.CopyValueOut(ref s, _values.Slice(i * valueSize, valueSize));
                i++;
                for (int idx = first; idx >= 0 && i < at + Count; idx = InlineHashTable.Next(ref table.P(idx)), i++)
                {
                    if ((uint)idx >= (uint)capacity)
                    {
                        return false;
                    }

                    table.CopyKeyOut(ref table.P(idx), _keys.Slice(i * keySize, keySize));
                    table.CopyValueOut(ref table.P(idx), _values.Slice(i * valueSize, valueSize));
                }
            }

            return true;
        }
    }

    /// <summary>Copies and empties one bucket under its lock; -1 if it holds more than <paramref name="room"/>.</summary>
    private int TakeBucket(uint b, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        int locked = Lock(b);
        ref byte s = ref S(b);
        int first = Next(ref s);
        if (first == Empty)
        {
            Unlock(b, locked);
            return 0;
        }

        int cnt = 1;
        for (int idx = first; idx >= 0; idx = Next(ref P(idx)))
        {
            cnt++;
        }

        if ((uint)cnt > room)
        {
            Unlock(b, locked);
            return -1;
        }

        int i = (int)at;
        CopyKeyOut(ref s, keys.Slice(i * KeySize, KeySize));
        CopyValueOut(ref s, values.Slice(i * _valueSize, _valueSize));
        i++;
        for (int idx = first; idx >= 0; idx = Next(ref P(idx)), i++)
        {
            CopyKeyOut(ref P(idx), keys.Slice(i * KeySize, KeySize));
            CopyValueOut(ref P(idx), values.Slice(i * _valueSize, _valueSize));
        }

        Next(ref s) = Empty;
        Unlock(b, locked);
        for (int idx = first; idx >= 0;)
        {
            int next = Next(ref P(idx));
            PoolFree(idx);
            idx = next;
        }

        Unreserve(cnt);
        return cnt;
    }
}
