using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// The htab types whose elements need a stable identity, lru_hash and lru_percpu_hash (the LRU list
/// links elements) and hash_of_maps (elements hold inner map references), with the kernel's layout:
/// <c>roundup_pow_of_two(max_entries)</c> buckets, jhash with the map's seed, new elements at the
/// head of their bucket's chain, and the bucket index as the batch cursor. hash and percpu_hash use
/// <see cref="InlineHashTable"/>, which has the same semantics and a faster layout.
/// </summary>
/// <remarks>
/// <para>Elements live in one preallocated array, <c>[next:i32][hash:u32][key][value]</c> each, so a
/// lookup touches one cache line for small keys. Free elements form a lock-free stack with a tagged
/// head (no ABA); a map is full (E2BIG) when the stack and the never-used tail are both empty, exactly
/// when the kernel's preallocated freelist runs dry.</para>
/// <para>Each bucket has one int that is both its lock and a sequence counter: writers move it from
/// even to odd with a CAS and back to even when done; readers (lookup, get_next_key, lookup batch)
/// take no lock, copy, and retry if the counter moved. A reader that follows a link into an element
/// recycled meanwhile is caught by the same check, and chain walks are bounded so they always end.</para>
/// </remarks>
internal sealed class HashTable : MapCore, IHashStats
{
    private const int Inconsistent = -2;
    private const ulong NoExist = 1;
    private const ulong Exist = 2;

    private readonly Bucket[] _buckets;
    private readonly uint _mask;
    private readonly uint _seed;
    private readonly JHash.WordState _wordState;
    private readonly byte[] _data;
    private readonly int _stride;
    private readonly int _valueOffset;
    private readonly int _capacity;
    private readonly int _valueSize;
    private readonly int _cpuStride;
    private readonly bool _percpu;
    private readonly bool _lru;
    private readonly bool _fd;

    // (tag << 32) | (index + 1); a zero low half means the stack is empty.
    private long _freeHead;
    private int _highWater;
    private int _count;

    // A strict LRU list by last update, under one lock (see docs/performance.md and InProcessMap).
    private readonly int[]? _lruPrev;
    private readonly int[]? _lruNext;
    private readonly bool[]? _onLru;
    private readonly Lock? _lruLock;
    private int _lruHead = -1;
    private int _lruTail = -1;

    public HashTable(MapInfo info, int cpus, int valueBufferSize, uint seed)
        : base(info, cpus, valueBufferSize)
    {
        _capacity = info.MaxEntries;
        uint buckets = BitOperations.RoundUpToPowerOf2((uint)_capacity);
        _buckets = new Bucket[buckets];
        for (int i = 0; i < _buckets.Length; i++)
        {
            _buckets[i].Head = -1;
        }

        _mask = buckets - 1;
        _seed = seed;
        _wordState = JHash.Prepare(seed);
        _valueSize = valueBufferSize;
        _cpuStride = PossibleCpus.Stride(info.ValueSize);
        _percpu = info.Type.IsPerCpu();
        _lru = info.Type is MapType.LruHash or MapType.LruPerCpuHash;
        _fd = info.Type == MapType.HashOfMaps;
        _valueOffset = 8 + Align8(KeySize);
        _stride = _valueOffset + Align8(valueBufferSize);
        long bytes = (long)_stride * _capacity;
        if (bytes > Array.MaxLength)
        {
            throw BpfException.ForErrno(Errno.ENOMEM, "BPF_MAP_CREATE", info.Type.ToString());
        }

        // Pinned, so batch walks can prefetch elements by address.
        _data = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
        if (_lru)
        {
            _lruPrev = new int[_capacity];
            _lruNext = new int[_capacity];
            _onLru = new bool[_capacity];
            _lruLock = new Lock();
        }
    }

    /// <summary>The bytes a table of these sizes allocates: elements, buckets and, for LRU maps, the list.</summary>
    public static long StorageBytes(int keySize, int valueBufferSize, int maxEntries, bool lru)
    {
        long stride = 8 + (((long)keySize + 7) & ~7L) + (((long)valueBufferSize + 7) & ~7L);
        long buckets = (long)BitOperations.RoundUpToPowerOf2((uint)maxEntries) * Unsafe.SizeOf<Bucket>();
        return stride * maxEntries + buckets + (lru ? 9L * maxEntries : 0);
    }

    public int NBuckets => _buckets.Length;

    public int Count => Volatile.Read(ref _count);

    public uint Seed => _seed;

    protected override bool HasLookupAndDeleteElem => !_fd;

    protected override bool HasLookupAndDeleteBatch => true;

    protected override bool HasDeleteBatch => true;

    private struct Bucket
    {
        public int Seq;
        public int Head;
    }

    private static int Align8(int n) => (n + 7) & ~7;

    // ---------------------------------------------------------------- element access

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Elem(int idx) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data), (nint)idx * _stride);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Next(int idx) => ref Unsafe.As<byte, int>(ref Elem(idx));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref uint HashOf(int idx) => ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref Elem(idx), 4));

    private Span<byte> KeyOf(int idx) => MemoryMarshal.CreateSpan(ref Unsafe.Add(ref Elem(idx), 8), KeySize);

    private Span<byte> ValueOf(int idx) => MemoryMarshal.CreateSpan(ref Unsafe.Add(ref Elem(idx), _valueOffset), _valueSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint HashKey(ReadOnlySpan<byte> key)
        => KeySize == 4 ? JHash.Word(BinaryPrimitives.ReadUInt32LittleEndian(key), _wordState) : JHash.Hash(key, _seed);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool KeyEquals(int idx, ReadOnlySpan<byte> key)
    {
        ref byte k = ref Unsafe.Add(ref Elem(idx), 8);
        return KeySize switch
        {
            4 => Unsafe.ReadUnaligned<uint>(ref k) == Unsafe.ReadUnaligned<uint>(ref MemoryMarshal.GetReference(key)),
            8 => Unsafe.ReadUnaligned<ulong>(ref k) == Unsafe.ReadUnaligned<ulong>(ref MemoryMarshal.GetReference(key)),
            _ => MemoryMarshal.CreateReadOnlySpan(ref k, KeySize).SequenceEqual(key),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CopyKeyOut(int idx, Span<byte> dst)
    {
        if (KeySize == 4)
        {
            Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(dst), Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref Elem(idx), 8)));
        }
        else
        {
            KeyOf(idx).CopyTo(dst);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CopyValueOut(int idx, Span<byte> dst)
    {
        if (_valueSize == 8)
        {
            Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(dst), Unsafe.As<byte, ulong>(ref Unsafe.Add(ref Elem(idx), _valueOffset)));
        }
        else
        {
            ValueOf(idx).CopyTo(dst);
        }
    }

    // ---------------------------------------------------------------- bucket lock / sequence

    private static int LockBucket(ref Bucket b)
    {
        int seq = Volatile.Read(ref b.Seq);
        if ((seq & 1) == 0 && Interlocked.CompareExchange(ref b.Seq, seq + 1, seq) == seq)
        {
            return seq + 1;
        }

        return LockBucketSlow(ref b);
    }

    private static int LockBucketSlow(ref Bucket b)
    {
        SpinWait sw = default;
        while (true)
        {
            sw.SpinOnce(sleep1Threshold: -1);
            int seq = Volatile.Read(ref b.Seq);
            if ((seq & 1) == 0 && Interlocked.CompareExchange(ref b.Seq, seq + 1, seq) == seq)
            {
                return seq + 1;
            }
        }
    }

    private static void UnlockBucket(ref Bucket b, int locked) => Volatile.Write(ref b.Seq, locked + 1);

    /// <summary>Walks a chain without the lock; <see cref="Inconsistent"/> when it ran into a recycled element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindRacy(int idx, uint hash, ReadOnlySpan<byte> key)
    {
        int steps = 0;
        while (idx >= 0)
        {
            if ((uint)idx >= (uint)_capacity || ++steps > _capacity)
            {
                return Inconsistent;
            }

            if (HashOf(idx) == hash && KeyEquals(idx, key))
            {
                return idx;
            }

            idx = Next(idx);
        }

        return -1;
    }

    private int FindLocked(ref Bucket b, uint hash, ReadOnlySpan<byte> key, out int prev)
    {
        prev = -1;
        for (int idx = b.Head; idx >= 0; idx = Next(idx))
        {
            if (HashOf(idx) == hash && KeyEquals(idx, key))
            {
                return idx;
            }

            prev = idx;
        }

        return -1;
    }

    private void Unlink(ref Bucket b, int idx, int prev)
    {
        if (prev < 0)
        {
            b.Head = Next(idx);
        }
        else
        {
            Next(prev) = Next(idx);
        }
    }

    // ---------------------------------------------------------------- free list

    private int Alloc()
    {
        long head = Volatile.Read(ref _freeHead);
        while ((int)head != 0)
        {
            int top = (int)head - 1;
            int next = Volatile.Read(ref Next(top));
            long replacement = ((head >>> 32) + 1) << 32 | (uint)(next + 1);
            long seen = Interlocked.CompareExchange(ref _freeHead, replacement, head);
            if (seen == head)
            {
                return top;
            }

            head = seen;
        }

        int hw = Volatile.Read(ref _highWater);
        while (hw < _capacity)
        {
            int seen = Interlocked.CompareExchange(ref _highWater, hw + 1, hw);
            if (seen == hw)
            {
                return hw;
            }

            hw = seen;
        }

        return -1;
    }

    private void Free(int idx)
    {
        long head = Volatile.Read(ref _freeHead);
        while (true)
        {
            Volatile.Write(ref Next(idx), (int)head - 1);
            long replacement = ((head >>> 32) + 1) << 32 | (uint)(idx + 1);
            long seen = Interlocked.CompareExchange(ref _freeHead, replacement, head);
            if (seen == head)
            {
                return;
            }

            head = seen;
        }
    }

    /// <summary>
    /// Gives back an element that left the table: inner map reference, count, free list. Its LRU
    /// entry was removed under the bucket lock, so every element on the LRU list is in a bucket.
    /// </summary>
    private void Retire(int idx)
    {
        if (_fd)
        {
            ObjectTable.Release(BinaryPrimitives.ReadUInt32LittleEndian(ValueOf(idx)));
        }

        Interlocked.Decrement(ref _count);
        Free(idx);
    }

    private static int CheckFlags(bool exists, ulong flags)
        => exists && flags == NoExist ? Errno.EEXIST : !exists && flags == Exist ? Errno.ENOENT : 0;

    // ---------------------------------------------------------------- element ops

    protected override int LookupElem(ReadOnlySpan<byte> key, Span<byte> value)
    {
        uint hash = HashKey(key);
        ref Bucket b = ref _buckets[hash & _mask];
        SpinWait sw = default;
        while (true)
        {
            int seq = Volatile.Read(ref b.Seq);
            if ((seq & 1) == 0)
            {
                int idx = FindRacy(Volatile.Read(ref b.Head), hash, key);
                if (idx >= 0)
                {
                    CopyValueOut(idx, value);
                }

                Volatile.ReadBarrier();
                if (idx != Inconsistent && Volatile.Read(ref b.Seq) == seq)
                {
                    return idx >= 0 ? 0 : Errno.ENOENT;
                }
            }

            sw.SpinOnce(sleep1Threshold: -1);
        }
    }

    protected override int UpdateElem(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        // BPF_F_LOCK was refused above, so "unknown flags" is anything past BPF_EXIST for every htab type.
        uint innerId = 0;
        if (_fd)
        {
            // bpf_fd_htab_map_update_elem resolves the fd before htab_map_update_elem looks at flags.
            int ferr = AcquireInner(value, out innerId);
            if (ferr != 0)
            {
                return ferr;
            }
        }

        int err = flags > Exist ? Errno.EINVAL : _lru ? UpdateLru(key, value, flags) : UpdateHash(key, value, flags);
        if (err != 0 && _fd)
        {
            ObjectTable.Release(innerId);
        }

        return err;
    }

    private int UpdateHash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        uint hash = HashKey(key);
        ref Bucket b = ref _buckets[hash & _mask];
        int locked = LockBucket(ref b);
        int idx = FindLocked(ref b, hash, key, out _);
        int err = CheckFlags(idx >= 0, flags);
        uint oldInner = 0;
        if (err == 0)
        {
            if (idx >= 0)
            {
                if (_fd)
                {
                    oldInner = BinaryPrimitives.ReadUInt32LittleEndian(ValueOf(idx));
                }

                // Only hash_of_maps comes here, and since Linux 6.16 it swaps the inner map in place
                // (htab_map_update_elem_in_place), so the key keeps its place in the chain.
                value.CopyTo(ValueOf(idx));
            }
            else
            {
                int n = Alloc();
                if (n < 0)
                {
                    err = Errno.E2BIG;
                }
                else
                {
                    HashOf(n) = hash;
                    key.CopyTo(KeyOf(n));
                    value.CopyTo(ValueOf(n));
                    Next(n) = b.Head;
                    b.Head = n;
                    Interlocked.Increment(ref _count);
                }
            }
        }

        UnlockBucket(ref b, locked);
        if (oldInner != 0)
        {
            ObjectTable.Release(oldInner);
        }

        return err;
    }

    private int UpdateLru(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        uint hash = HashKey(key);

        // As the kernel does, take a free element (evicting if needed) before the bucket lock, and
        // even if the update then fails: only lru_percpu_hash with BPF_EXIST skips this.
        int n = -1;
        if (!_percpu || flags != Exist)
        {
            n = AllocLru();
            if (n < 0)
            {
                return Errno.ENOMEM;
            }
        }

        ref Bucket b = ref _buckets[hash & _mask];
        int locked = LockBucket(ref b);
        int idx = FindLocked(ref b, hash, key, out int prev);
        int err = CheckFlags(idx >= 0, flags);
        int retired = -1;
        if (err == 0)
        {
            if (_percpu && idx >= 0)
            {
                value.CopyTo(ValueOf(idx));
                LruTouch(idx);
            }
            else
            {
                HashOf(n) = hash;
                key.CopyTo(KeyOf(n));
                value.CopyTo(ValueOf(n));
                Next(n) = b.Head;
                b.Head = n;
                Interlocked.Increment(ref _count);
                LruPushFront(n);
                if (idx >= 0)
                {
                    Unlink(ref b, idx, prev < 0 ? n : prev);
                    LruRemove(idx);
                    retired = idx;
                }

                n = -1;
            }
        }

        UnlockBucket(ref b, locked);
        if (n >= 0)
        {
            Free(n);
        }

        if (retired >= 0)
        {
            Retire(retired);
        }

        return err;
    }

    protected override int DeleteElem(ReadOnlySpan<byte> key) => Remove(key, default, copy: false);

    protected override int LookupAndDeleteElem(ReadOnlySpan<byte> key, Span<byte> value) => Remove(key, value, copy: true);

    private int Remove(ReadOnlySpan<byte> key, Span<byte> value, bool copy)
    {
        uint hash = HashKey(key);
        ref Bucket b = ref _buckets[hash & _mask];
        int locked = LockBucket(ref b);
        int idx = FindLocked(ref b, hash, key, out int prev);
        if (idx >= 0)
        {
            if (copy)
            {
                CopyValueOut(idx, value);
            }

            Unlink(ref b, idx, prev);
            if (_lru)
            {
                LruRemove(idx);
            }
        }

        UnlockBucket(ref b, locked);
        if (idx < 0)
        {
            return Errno.ENOENT;
        }

        Retire(idx);
        return 0;
    }

    protected override int GetNextKeyElem(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        uint start = 0;
        if (!key.IsEmpty)
        {
            uint hash = HashKey(key);
            ref Bucket b = ref _buckets[hash & _mask];
            SpinWait sw = default;
            while (true)
            {
                int seq = Volatile.Read(ref b.Seq);
                if ((seq & 1) == 0)
                {
                    int idx = FindRacy(Volatile.Read(ref b.Head), hash, key);
                    int next = idx >= 0 ? Next(idx) : -1;
                    bool valid = idx != Inconsistent && (uint)(next + 1) <= (uint)_capacity;
                    if (valid && next >= 0)
                    {
                        CopyKeyOut(next, nextKey);
                    }

                    Volatile.ReadBarrier();
                    if (valid && Volatile.Read(ref b.Seq) == seq)
                    {
                        if (next >= 0)
                        {
                            return 0;
                        }

                        // Found and last in its chain: go on with the next bucket. Not found: start over.
                        start = idx >= 0 ? (hash & _mask) + 1 : 0;
                        break;
                    }
                }

                sw.SpinOnce(sleep1Threshold: -1);
            }
        }

        for (uint i = start; i < (uint)_buckets.Length; i++)
        {
            if (FirstKey(ref _buckets[i], nextKey))
            {
                return 0;
            }
        }

        return Errno.ENOENT;
    }

    private bool FirstKey(ref Bucket b, Span<byte> dst)
    {
        SpinWait sw = default;
        while (true)
        {
            int seq = Volatile.Read(ref b.Seq);
            if ((seq & 1) == 0)
            {
                int head = Volatile.Read(ref b.Head);
                if (head < 0)
                {
                    return false;
                }

                CopyKeyOut(head, dst);
                Volatile.ReadBarrier();
                if (Volatile.Read(ref b.Seq) == seq)
                {
                    return true;
                }
            }

            sw.SpinOnce(sleep1Threshold: -1);
        }
    }

    // ---------------------------------------------------------------- batch

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
    private int CopyBucket(ref Bucket b, Span<byte> keys, Span<byte> values, uint at, uint room)
    {
        SpinWait sw = default;
        while (true)
        {
            int seq = Volatile.Read(ref b.Seq);
            if ((seq & 1) == 0)
            {
                int cnt = 0;
                bool valid = true;
                for (int idx = Volatile.Read(ref b.Head); idx >= 0; idx = Next(idx))
                {
                    if ((uint)idx >= (uint)_capacity || ++cnt > _capacity)
                    {
                        valid = false;
                        break;
                    }
                }

                if (valid && (uint)cnt <= room)
                {
                    int i = (int)at;
                    for (int idx = Volatile.Read(ref b.Head); idx >= 0 && i < at + cnt; idx = Next(idx), i++)
                    {
                        if ((uint)idx >= (uint)_capacity)
                        {
                            valid = false;
                            break;
                        }

                        CopyKeyOut(idx, keys.Slice(i * KeySize, KeySize));
                        CopyValueOut(idx, values.Slice(i * _valueSize, _valueSize));
                    }
                }

                Volatile.ReadBarrier();
                if (valid && Volatile.Read(ref b.Seq) == seq)
                {
                    return (uint)cnt <= room ? cnt : -1;
                }
            }

            sw.SpinOnce(sleep1Threshold: -1);
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
                LruRemove(idx);
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

    // ---------------------------------------------------------------- atomic add

    protected override int AddElem(ReadOnlySpan<byte> key, ulong delta)
    {
        uint hash = HashKey(key);
        ref Bucket b = ref _buckets[hash & _mask];
        int slot = _percpu ? Thread.GetCurrentProcessorId() % Cpus * _cpuStride : 0;
        int locked = LockBucket(ref b);
        int idx = FindLocked(ref b, hash, key, out _);
        if (idx >= 0)
        {
            AddTo(idx, slot, delta);
            if (_lru)
            {
                LruTouch(idx);
            }

            UnlockBucket(ref b, locked);
            return 0;
        }

        int n;
        if (_lru)
        {
            // Eviction takes other buckets' locks, so it must not run under this one.
            UnlockBucket(ref b, locked);
            n = AllocLru();
            if (n < 0)
            {
                return Errno.ENOMEM;
            }

            locked = LockBucket(ref b);
            idx = FindLocked(ref b, hash, key, out _);
            if (idx >= 0)
            {
                AddTo(idx, slot, delta);
                LruTouch(idx);
                UnlockBucket(ref b, locked);
                Free(n);
                return 0;
            }
        }
        else
        {
            n = Alloc();
            if (n < 0)
            {
                UnlockBucket(ref b, locked);
                return Errno.E2BIG;
            }
        }

        HashOf(n) = hash;
        key.CopyTo(KeyOf(n));
        ValueOf(n).Clear();
        AddTo(n, slot, delta);
        Next(n) = b.Head;
        b.Head = n;
        Interlocked.Increment(ref _count);
        if (_lru)
        {
            LruPushFront(n);
        }

        UnlockBucket(ref b, locked);
        return 0;
    }

    private void AddTo(int idx, int offset, ulong delta)
    {
        ref byte v = ref Unsafe.Add(ref Elem(idx), _valueOffset + offset);
        if (Info.ValueSize == 8)
        {
            Unsafe.As<byte, ulong>(ref v) += delta;
        }
        else
        {
            Unsafe.As<byte, uint>(ref v) += (uint)delta;
        }
    }

    // ---------------------------------------------------------------- LRU

    private int AllocLru()
    {
        SpinWait sw = default;
        for (int attempt = 0; attempt < 1_000_000; attempt++)
        {
            int n = Alloc();
            if (n >= 0)
            {
                return n;
            }

            int victim;
            lock (_lruLock!)
            {
                victim = _lruTail;
            }

            if (victim < 0)
            {
                // Every element is between allocation and insertion on other threads.
                sw.SpinOnce();
                continue;
            }

            ref Bucket b = ref _buckets[Volatile.Read(ref HashOf(victim)) & _mask];
            int locked = LockBucket(ref b);
            int prev = -1;
            int idx = b.Head;
            while (idx >= 0 && idx != victim)
            {
                prev = idx;
                idx = Next(idx);
            }

            if (idx >= 0)
            {
                Unlink(ref b, idx, prev);
                LruRemove(idx);
            }

            UnlockBucket(ref b, locked);
            if (idx >= 0)
            {
                if (_fd)
                {
                    ObjectTable.Release(BinaryPrimitives.ReadUInt32LittleEndian(ValueOf(idx)));
                }

                Interlocked.Decrement(ref _count);
                return idx;
            }
        }

        return -1;
    }

    private void LruPushFront(int idx)
    {
        lock (_lruLock!)
        {
            LinkFront(idx);
        }
    }

    private void LruTouch(int idx)
    {
        lock (_lruLock!)
        {
            if (_onLru![idx] && _lruHead != idx)
            {
                UnlinkLru(idx);
                LinkFront(idx);
            }
        }
    }

    private void LruRemove(int idx)
    {
        lock (_lruLock!)
        {
            if (_onLru![idx])
            {
                UnlinkLru(idx);
            }
        }
    }

    private void LinkFront(int idx)
    {
        _lruPrev![idx] = -1;
        _lruNext![idx] = _lruHead;
        if (_lruHead >= 0)
        {
            _lruPrev[_lruHead] = idx;
        }
        else
        {
            _lruTail = idx;
        }

        _lruHead = idx;
        _onLru![idx] = true;
    }

    private void UnlinkLru(int idx)
    {
        int p = _lruPrev![idx];
        int n = _lruNext![idx];
        if (p >= 0)
        {
            _lruNext[p] = n;
        }
        else
        {
            _lruHead = n;
        }

        if (n >= 0)
        {
            _lruPrev[n] = p;
        }
        else
        {
            _lruTail = p;
        }

        _onLru![idx] = false;
    }

    // ---------------------------------------------------------------- teardown

    protected override void ReleaseInnerMaps()
    {
        if (!_fd)
        {
            return;
        }

        for (int i = 0; i < _buckets.Length; i++)
        {
            ref Bucket b = ref _buckets[i];
            int locked = LockBucket(ref b);
            int first = b.Head;
            b.Head = -1;
            UnlockBucket(ref b, locked);
            for (int idx = first; idx >= 0; idx = Next(idx))
            {
                ObjectTable.Release(BinaryPrimitives.ReadUInt32LittleEndian(ValueOf(idx)));
            }
        }
    }
}
