using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace BpfMaps.InProcess.Engine;

/// <summary>The batch side of <see cref="HashTable"/>: its buckets as <see cref="BucketBatch"/> walks them.</summary>
internal sealed partial class HashTable
{
    /// <summary>htab's lookup (and delete) batch; see <see cref="BucketBatch"/> for the rules.</summary>
    protected override int LookupBatchOp(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => BucketBatch.Run(new BatchView(this), andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    private readonly struct BatchView(HashTable table) : IBucketCopier
    {
        public uint Buckets => (uint)table._buckets.Length;

        public int Copy(uint bucket, bool andDelete, Span<byte> keys, Span<byte> values, uint at, uint room)
            => table.CopyForBatch(bucket, andDelete, keys, values, at, room);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CopyForBatch(uint bucket, bool andDelete, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        Prefetch(bucket + PrefetchDistance);
        ref Bucket b = ref _buckets[bucket];
        int head = Volatile.Read(ref b.Head);
        if (head < 0)
        {
            return 0;
        }

        return !andDelete && TryCopySingle(ref b, head, keys, values, at, room) ? 1
            : andDelete ? TakeBucket(ref b, keys, values, at, room) : CopyBucket(ref b, keys, values, at, room);
    }

    private const uint PrefetchDistance = 24;

    /// <summary>
    /// Elements sit in insertion order but batches visit them in bucket order, so almost every one
    /// is a cache miss; asking for the element a few buckets ahead hides most of that latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(uint bucket)
    {
        if (Sse.IsSupported && bucket < (uint)_buckets.Length)
        {
            int head = Volatile.Read(ref _buckets[bucket].Head);
            if ((uint)head < (uint)_capacity)
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref Elem(head)));
            }
        }
    }

    /// <summary>The common case of a batch walk: a quiet bucket holding one element that fits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryCopySingle(ref Bucket b, int head, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        int seq = Volatile.Read(ref b.Seq);
        if ((seq & 1) != 0 || room == 0 || (uint)head >= (uint)_capacity || Next(head) >= 0)
        {
            return false;
        }

        CopyKeyOut(head, keys.Slice((int)at * KeySize, KeySize));
        CopyValueOut(head, values.Slice((int)at * _valueSize, _valueSize));
        Volatile.ReadBarrier();
        return Volatile.Read(ref b.Seq) == seq && Volatile.Read(ref b.Head) == head;
    }

    /// <summary>Copies one bucket without its lock; -1 if it holds more than <paramref name="room"/>.</summary>
    // Out of line: inlined, its retry loop would bloat the caller's hot path.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int CopyBucket(ref Bucket b, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        var read = new BucketRead(this, ref b, keys, values, at, room);
        Seqlock.Read(ref b.Seq, ref read);
        return (uint)read.Count <= room ? read.Count : -1;
    }

    /// <summary>Counts a bucket's elements and, if they fit in <c>room</c>, copies them to entry <c>at</c> on.</summary>
    private ref struct BucketRead(HashTable table, ref Bucket bucket, Span<byte> keys, Span<byte> values, uint at, uint room) : ISeqlockReader
    {
        private readonly ref Bucket _bucket = ref bucket;
        private readonly Span<byte> _keys = keys;
        private readonly Span<byte> _values = values;

        public int Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            int capacity = table._capacity;
            int keySize = table.KeySize;
            int valueSize = table._valueSize;
            Count = 0;
            for (int idx = Volatile.Read(ref _bucket.Head); idx >= 0; idx = table.Next(idx))
            {
                if ((uint)idx >= (uint)capacity || ++Count > capacity)
                {
                    return false;
                }
            }

            if ((uint)Count <= room)
            {
                int i = (int)at;
                for (int idx = Volatile.Read(ref _bucket.Head); idx >= 0 && i < at + Count; idx = table.Next(idx), i++)
                {
                    if ((uint)idx >= (uint)capacity)
                    {
                        return false;
                    }

                    table.CopyKeyOut(idx, _keys.Slice(i * keySize, keySize));
                    table.CopyValueOut(idx, _values.Slice(i * valueSize, valueSize));
                }
            }

            return true;
        }
    }

    /// <summary>Copies and empties one bucket under its lock; -1 if it holds more than <paramref name="room"/>.</summary>
    private int TakeBucket(ref Bucket b, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        int locked = LockBucket(ref b);
        int cnt = 0;
        for (int idx = b.Head; idx >= 0; idx = Next(idx))
        {
            cnt++;
        }

        if ((uint)cnt > room)
        {
            UnlockBucket(ref b, locked);
            return -1;
        }

        int first = b.Head;
        int i = (int)at;
        for (int idx = first; idx >= 0; idx = Next(idx), i++)
        {
            CopyKeyOut(idx, keys.Slice(i * KeySize, KeySize));
            CopyValueOut(idx, values.Slice(i * _valueSize, _valueSize));
        }

        b.Head = -1;
        if (_lru)
        {
            for (int idx = first; idx >= 0; idx = Next(idx))
            {
                _lruList!.Remove(idx);
            }
        }

        UnlockBucket(ref b, locked);

        // The unlinked chain is ours alone now; its links stay intact until each element is freed.
        for (int idx = first; idx >= 0;)
        {
            int next = Next(idx);
            Retire(idx);
            idx = next;
        }

        return cnt;
    }
}
