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
/// lookup touches one cache line for small keys. Free elements are a <see cref="FreeElementStack"/>
/// over that array; a map is full (E2BIG) when it has none left, exactly when the kernel's
/// preallocated freelist runs dry. lru maps keep their order in an <see cref="LruList"/>.</para>
/// <para>Each bucket has a <see cref="Seqlock"/>: writers hold it; readers (lookup, get_next_key,
/// lookup batch) take no lock, copy, and retry if the counter moved. A reader that follows a link into
/// an element recycled meanwhile is caught by the same check, and chain walks are bounded so they
/// always end.</para>
/// </remarks>
internal sealed class HashTable : MapCore, IHashStats
{
    private const int Inconsistent = -2;

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

    private readonly FreeElementStack _free;

    // Null unless the map is an lru type.
    private readonly LruList? _lruList;
    private int _count;

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
            throw BpfErrors.Create(Errno.ENOMEM, BpfCommand.BPF_MAP_CREATE, info.Type);
        }

        // Pinned, so batch walks can prefetch elements by address.
        _data = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
        _free = new FreeElementStack(_data, _stride, _capacity);
        if (_lru)
        {
            _lruList = new LruList(_capacity);
        }
    }

    /// <summary>The bytes a table of these sizes allocates: elements, buckets and, for LRU maps, the list.</summary>
    public static long StorageBytes(int keySize, int valueBufferSize, int maxEntries, bool lru)
    {
        long stride = 8 + (((long)keySize + 7) & ~7L) + (((long)valueBufferSize + 7) & ~7L);
        long buckets = (long)BitOperations.RoundUpToPowerOf2((uint)maxEntries) * Unsafe.SizeOf<Bucket>();
        return stride * maxEntries + buckets + (lru ? LruList.StorageBytes(maxEntries) : 0);
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

    private static int LockBucket(ref Bucket b) => Seqlock.Lock(ref b.Seq);

    private static void UnlockBucket(ref Bucket b, int locked) => Seqlock.Unlock(ref b.Seq, locked);

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

    // ---------------------------------------------------------------- free elements

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
        _free.Return(idx);
    }

    // ---------------------------------------------------------------- element ops

    protected override int LookupElem(ReadOnlySpan<byte> key, Span<byte> value)
    {
        uint hash = HashKey(key);
        ref Bucket b = ref _buckets[hash & _mask];
        var read = new LookupRead(this, ref b, hash, key, value);
        Seqlock.Read(ref b.Seq, ref read);
        return read.Found >= 0 ? 0 : Errno.ENOENT;
    }

    /// <summary>Finds a key in its bucket and copies its value out.</summary>
    private ref struct LookupRead(HashTable table, ref Bucket bucket, uint hash, ReadOnlySpan<byte> key, Span<byte> value) : ISeqlockReader
    {
        private readonly ref Bucket _bucket = ref bucket;
        private readonly ReadOnlySpan<byte> _key = key;
        private readonly Span<byte> _value = value;

        /// <summary>The element found, or -1.</summary>
        public int Found;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            Found = table.FindRacy(Volatile.Read(ref _bucket.Head), hash, _key);
            if (Found >= 0)
            {
                table.CopyValueOut(Found, _value);
            }

            return Found != Inconsistent;
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

        int err = HasUnknownUpdateFlags(flags) ? Errno.EINVAL : _lru ? UpdateLru(key, value, flags) : UpdateHash(key, value, flags);
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
        int err = CheckExistFlags(idx >= 0, flags);
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
                int n = _free.Take();
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
        int err = CheckExistFlags(idx >= 0, flags);
        int retired = -1;
        if (err == 0)
        {
            if (_percpu && idx >= 0)
            {
                value.CopyTo(ValueOf(idx));
                _lruList!.Touch(idx);
            }
            else
            {
                HashOf(n) = hash;
                key.CopyTo(KeyOf(n));
                value.CopyTo(ValueOf(n));
                Next(n) = b.Head;
                b.Head = n;
                Interlocked.Increment(ref _count);
                _lruList!.PushFront(n);
                if (idx >= 0)
                {
                    Unlink(ref b, idx, prev < 0 ? n : prev);
                    _lruList!.Remove(idx);
                    retired = idx;
                }

                n = -1;
            }
        }

        UnlockBucket(ref b, locked);
        if (n >= 0)
        {
            _free.Return(n);
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
                _lruList!.Remove(idx);
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
            var read = new NextKeyRead(this, ref b, hash, key, nextKey);
            Seqlock.Read(ref b.Seq, ref read);
            if (read.Next >= 0)
            {
                return 0;
            }

            // Found and last in its chain: go on with the next bucket. Not found: start over.
            start = read.Found >= 0 ? (hash & _mask) + 1 : 0;
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

    /// <summary>Finds a key in its bucket and copies the key after it in the chain out, if there is one.</summary>
    private ref struct NextKeyRead(HashTable table, ref Bucket bucket, uint hash, ReadOnlySpan<byte> key, Span<byte> nextKey) : ISeqlockReader
    {
        private readonly ref Bucket _bucket = ref bucket;
        private readonly ReadOnlySpan<byte> _key = key;
        private readonly Span<byte> _nextKey = nextKey;

        /// <summary>The element holding the key, or -1.</summary>
        public int Found;

        /// <summary>The element after it, whose key was copied out, or -1.</summary>
        public int Next;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            Found = table.FindRacy(Volatile.Read(ref _bucket.Head), hash, _key);
            Next = Found >= 0 ? table.Next(Found) : -1;
            bool valid = Found != Inconsistent && (uint)(Next + 1) <= (uint)table._capacity;
            if (valid && Next >= 0)
            {
                table.CopyKeyOut(Next, _nextKey);
            }

            return valid;
        }
    }

    private bool FirstKey(ref Bucket b, Span<byte> dst)
    {
        var read = new FirstKeyRead(this, ref b, dst);
        Seqlock.Read(ref b.Seq, ref read);
        return read.Found;
    }

    /// <summary>Copies the key at the head of a bucket out, if the bucket has one.</summary>
    private ref struct FirstKeyRead(HashTable table, ref Bucket bucket, Span<byte> dst) : ISeqlockReader
    {
        private readonly ref Bucket _bucket = ref bucket;
        private readonly Span<byte> _dst = dst;

        public bool Found;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            int head = Volatile.Read(ref _bucket.Head);
            Found = head >= 0;
            if (Found)
            {
                table.CopyKeyOut(head, _dst);
            }

            return true;
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
                _lruList!.Touch(idx);
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
                _lruList!.Touch(idx);
                UnlockBucket(ref b, locked);
                _free.Return(n);
                return 0;
            }
        }
        else
        {
            n = _free.Take();
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
            _lruList!.PushFront(n);
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
            int n = _free.Take();
            if (n >= 0)
            {
                return n;
            }

            int victim = _lruList!.Tail;

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
                _lruList!.Remove(idx);
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
