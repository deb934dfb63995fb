using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// hash and percpu_hash with the head of every bucket's chain stored in the bucket itself. Same
/// semantics as <see cref="HashTable"/> (which keeps lru and hash_of_maps, whose elements need a
/// stable identity), laid out for speed: a lookup usually touches one cache line, and a batch walk
/// reads the buckets front to back and only jumps for the ~third of entries that overflowed.
/// </summary>
/// <remarks>
/// <para>A bucket slot is <c>[seq:i32][pad:i32]</c> followed by an element
/// <c>[next:i32][hash:u32][key][value]</c>; overflow elements have the same element format in a
/// pool of <c>max_entries</c>. The slot's <c>next</c> is <see cref="Empty"/> for an empty bucket,
/// -1 for a chain of one, else the first overflow element. Inserting at the head moves the old head
/// into the pool; deleting the head pulls the next element into the slot. Order within a bucket is
/// exactly the kernel's.</para>
/// <para><c>seq</c> is the bucket's <see cref="Seqlock"/>, as in <see cref="HashTable"/>:
/// writers hold it odd; readers copy without locking and retry if it moved. Free overflow elements
/// are a <see cref="FreeElementStack"/> over the pool.</para>
/// </remarks>
internal sealed unsafe class InlineHashTable : MapCore, IHashStats
{
    private const int Empty = -2;
    private const int Inline = -1;
    private const int NotFound = int.MinValue;
    private const int Inconsistent = int.MinValue + 1;
    private const uint PrefetchDistance = 16;

    private readonly byte[] _slots;
    private readonly int _slotBase;

    // Both arrays are pinned and held by the fields above, so these stay valid for the map's life.
    private readonly byte* _slotPtr;
    private readonly byte* _poolPtr;
    private readonly byte[] _pool;
    private readonly int _elemStride;
    private readonly int _slotStride;
    private readonly int _valueOffset;
    private readonly int _valueSize;
    private readonly int _cpuStride;
    private readonly int _capacity;
    private readonly uint _nBuckets;
    private readonly uint _mask;
    private readonly uint _seed;
    private readonly JHash.WordState _wordState;
    private readonly bool _percpu;
    private const int Stripes = 16;

    // How many more elements may be inserted, split into per-CPU stripes so that inserts and
    // deletes on different CPUs do not fight over one cache line (the kernel's per-CPU freelists
    // do the same). Their sum is max_entries minus the count.
    private readonly Budget[] _budget = new Budget[Stripes];
    private readonly FreeElementStack _free;

    public InlineHashTable(MapInfo info, int cpus, int valueBufferSize, uint seed)
        : base(info, cpus, valueBufferSize)
    {
        _capacity = info.MaxEntries;
        _nBuckets = BitOperations.RoundUpToPowerOf2((uint)_capacity);
        _mask = _nBuckets - 1;
        _seed = seed;
        _wordState = JHash.Prepare(seed);
        _valueSize = valueBufferSize;
        _percpu = info.Type.IsPerCpu();
        _cpuStride = PossibleCpus.Stride(info.ValueSize);
        _valueOffset = 8 + Align8(KeySize);
        _elemStride = _valueOffset + Align8(valueBufferSize);
        _slotStride = 8 + _elemStride;
        long slotBytes = (long)_slotStride * _nBuckets;
        long poolBytes = (long)_elemStride * _capacity;
        if (slotBytes + 64 > Array.MaxLength || poolBytes > Array.MaxLength)
        {
            throw BpfErrors.Create(Errno.ENOMEM, BpfCommand.BPF_MAP_CREATE, info.Type);
        }

        // Slots must start empty; the pool is written before it is read. Both pinned for prefetching.
        _slots = GC.AllocateArray<byte>((int)slotBytes + 64, pinned: true);
        _slotBase = CacheLineOffset(_slots);
        _slotPtr = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_slots)) + _slotBase;
        _pool = GC.AllocateUninitializedArray<byte>(Math.Max((int)poolBytes, 1), pinned: true);
        _poolPtr = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_pool));
        _free = new FreeElementStack(_pool, _elemStride, _capacity);
        for (uint b = 0; b < _nBuckets; b++)
        {
            Next(ref S(b)) = Empty;
        }

        for (int i = 0; i < Stripes; i++)
        {
            _budget[i].Free = _capacity / Stripes + (i < _capacity % Stripes ? 1 : 0);
        }
    }

    /// <summary>The bytes a table of these sizes allocates: its bucket slots and its overflow pool.</summary>
    public static long StorageBytes(int keySize, int valueBufferSize, int maxEntries)
    {
        long elem = 8 + Align8L(keySize) + Align8L(valueBufferSize);
        return (long)BitOperations.RoundUpToPowerOf2((uint)maxEntries) * (8 + elem) + 64 + elem * maxEntries;
    }

    private static long Align8L(long n) => (n + 7) & ~7L;

    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct Budget
    {
        [FieldOffset(0)]
        public int Free;
    }

    /// <summary>Where the first slot starts: a cache line boundary, so a 32- or 64-byte slot never straddles two lines.</summary>
    private static unsafe int CacheLineOffset(byte[] pinned)
        => (int)((64 - ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned)) & 63)) & 63);

    public int NBuckets => (int)_nBuckets;

    public int Count
    {
        get
        {
            int free = 0;
            for (int i = 0; i < Stripes; i++)
            {
                free += Volatile.Read(ref _budget[i].Free);
            }

            return _capacity - free;
        }
    }

    public uint Seed => _seed;

    protected override bool HasLookupAndDeleteElem => true;

    protected override bool HasLookupAndDeleteBatch => true;

    protected override bool HasDeleteBatch => true;

    private static int Align8(int n) => (n + 7) & ~7;

    // ---------------------------------------------------------------- layout

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Seq(uint b) => ref *(int*)(_slotPtr + (nint)b * _slotStride);

    /// <summary>The element stored in bucket <paramref name="b"/>'s slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte S(uint b) => ref *(_slotPtr + (nint)b * _slotStride + 8);

    /// <summary>Overflow element <paramref name="idx"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte P(int idx) => ref *(_poolPtr + (nint)idx * _elemStride);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref int Next(ref byte e) => ref Unsafe.As<byte, int>(ref e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref uint Hash(ref byte e) => ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref e, 4));

    private Span<byte> Key(ref byte e) => MemoryMarshal.CreateSpan(ref Unsafe.Add(ref e, 8), KeySize);

    private Span<byte> Value(ref byte e) => MemoryMarshal.CreateSpan(ref Unsafe.Add(ref e, _valueOffset), _valueSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint HashKey(ReadOnlySpan<byte> key)
        => KeySize == 4 ? JHash.Word(BinaryPrimitives.ReadUInt32LittleEndian(key), _wordState) : JHash.Hash(key, _seed);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Matches(ref byte e, uint hash, ReadOnlySpan<byte> key)
    {
        if (Hash(ref e) != hash)
        {
            return false;
        }

        ref byte k = ref Unsafe.Add(ref e, 8);
        return KeySize switch
        {
            4 => Unsafe.ReadUnaligned<uint>(ref k) == Unsafe.ReadUnaligned<uint>(ref MemoryMarshal.GetReference(key)),
            8 => Unsafe.ReadUnaligned<ulong>(ref k) == Unsafe.ReadUnaligned<ulong>(ref MemoryMarshal.GetReference(key)),
            _ => MemoryMarshal.CreateReadOnlySpan(ref k, KeySize).SequenceEqual(key),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CopyKeyOut(ref byte e, Span<byte> dst)
    {
        if (KeySize == 4)
        {
            Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(dst), Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref e, 8)));
        }
        else
        {
            Key(ref e).CopyTo(dst);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CopyValueOut(ref byte e, Span<byte> dst)
    {
        if (_valueSize == 8)
        {
            Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(dst), Unsafe.As<byte, ulong>(ref Unsafe.Add(ref e, _valueOffset)));
        }
        else
        {
            Value(ref e).CopyTo(dst);
        }
    }

    /// <summary>Copies hash, key and value (not the link) from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private void Move(ref byte from, ref byte to)
        => Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref to, 4), ref Unsafe.Add(ref from, 4), (uint)(_elemStride - 4));

    private void Write(ref byte e, uint hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Hash(ref e) = hash;
        key.CopyTo(Key(ref e));
        value.CopyTo(Value(ref e));
    }

    // ---------------------------------------------------------------- locking

    private int Lock(uint b) => Seqlock.Lock(ref Seq(b));

    private void Unlock(uint b, int locked) => Seqlock.Unlock(ref Seq(b), locked);

    // ---------------------------------------------------------------- capacity and pool

    /// <summary>
    /// Takes one unit of room, from this CPU's stripe or else any other. Exact when single-threaded;
    /// under concurrent deletes an insert can see E2BIG just before room appears in a stripe it
    /// already passed, as with the kernel's per-CPU freelists.
    /// </summary>
    private bool Reserve()
    {
        int home = Thread.GetCurrentProcessorId();
        for (int i = 0; i < Stripes; i++)
        {
            ref int free = ref _budget[(home + i) & (Stripes - 1)].Free;
            int v = Volatile.Read(ref free);
            while (v > 0)
            {
                int seen = Interlocked.CompareExchange(ref free, v - 1, v);
                if (seen == v)
                {
                    return true;
                }

                v = seen;
            }
        }

        return false;
    }

    private void Unreserve(int n) => Interlocked.Add(ref _budget[Thread.GetCurrentProcessorId() & (Stripes - 1)].Free, n);

    private int PoolAlloc()
    {
        // Overflow elements never outnumber reserved entries (Reserve comes before PoolAlloc, PoolFree
        // before the count drops), so the pool never runs dry; the check guards the unsafe access.
        int n = _free.Take();
        return n >= 0 ? n : throw new InvalidOperationException($"in-process hash pool overrun ({_capacity} in use): engine invariant broken");
    }

    private void PoolFree(int idx) => _free.Return(idx);

    // ---------------------------------------------------------------- chain edits (bucket locked)

    /// <summary>Finds the key: <see cref="Inline"/>, an overflow index, or <see cref="NotFound"/>; <paramref name="prev"/> is -1 after the slot.</summary>
    private int FindLocked(uint b, uint hash, ReadOnlySpan<byte> key, out int prev)
    {
        prev = -1;
        ref byte s = ref S(b);
        int next = Next(ref s);
        if (next == Empty)
        {
            return NotFound;
        }

        if (Matches(ref s, hash, key))
        {
            return Inline;
        }

        for (int idx = next; idx >= 0; idx = Next(ref P(idx)))
        {
            if (Matches(ref P(idx), hash, key))
            {
                return idx;
            }

            prev = idx;
        }

        return NotFound;
    }

    private void InsertHead(uint b, uint hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ref byte s = ref S(b);
        if (Next(ref s) != Empty)
        {
            int n = PoolAlloc();
            ref byte e = ref P(n);
            Move(ref s, ref e);
            Next(ref e) = Next(ref s);
            Next(ref s) = n;
        }
        else
        {
            Next(ref s) = Inline;
        }

        Write(ref s, hash, key, value);
    }

    private void UnlinkOverflow(uint b, int idx, int prev)
    {
        int after = Next(ref P(idx));
        if (prev < 0)
        {
            Next(ref S(b)) = after;
        }
        else
        {
            Next(ref P(prev)) = after;
        }
    }

    /// <summary>Removes the element at <paramref name="at"/>; returns an overflow index to free after unlocking, or -1.</summary>
    private int RemoveAt(uint b, int at, int prev)
    {
        if (at != Inline)
        {
            UnlinkOverflow(b, at, prev);
            return at;
        }

        ref byte s = ref S(b);
        int n = Next(ref s);
        if (n < 0)
        {
            Next(ref s) = Empty;
            return -1;
        }

        ref byte e = ref P(n);
        Move(ref e, ref s);
        Next(ref s) = Next(ref e);
        return n;
    }

    // ---------------------------------------------------------------- element ops

    protected override int LookupElem(ReadOnlySpan<byte> key, Span<byte> value) => LookupDirect(key, value);

    /// <summary>The lookup itself, for callers that did the syscall-layer checks (exact key size, flags 0, readable).</summary>
    public int LookupDirect(ReadOnlySpan<byte> key, Span<byte> value)
    {
        uint hash = HashKey(key);
        uint b = hash & _mask;
        byte* slot = _slotPtr + (nint)b * _slotStride;
        int seq = Volatile.Read(ref *(int*)slot);
        ref byte s = ref *(slot + 8);
        if ((seq & 1) == 0 && Next(ref s) != Empty && Matches(ref s, hash, key))
        {
            // The common case: the key is the bucket's inline head.
            CopyValueOut(ref s, value);
            Volatile.ReadBarrier();
            if (Volatile.Read(ref *(int*)slot) == seq)
            {
                return 0;
            }
        }

        return LookupChain(b, hash, key, value);
    }

    private int LookupChain(uint b, uint hash, ReadOnlySpan<byte> key, Span<byte> value)
    {
        var read = new LookupRead(this, b, hash, key, value);
        Seqlock.Read(ref Seq(b), ref read);
        return read.At == NotFound ? Errno.ENOENT : 0;
    }

    /// <summary>Finds a key in its bucket and copies its value out.</summary>
    private ref struct LookupRead(InlineHashTable table, uint bucket, uint hash, ReadOnlySpan<byte> key, Span<byte> value) : ISeqlockReader
    {
        private readonly ReadOnlySpan<byte> _key = key;
        private readonly Span<byte> _value = value;

        /// <summary><see cref="Inline"/>, an overflow index, or <see cref="NotFound"/>.</summary>
        public int At;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            At = table.FindRacy(bucket, hash, _key);
            if (At == Inline)
            {
                table.CopyValueOut(ref table.S(bucket), _value);
            }
            else if (At >= 0)
            {
                table.CopyValueOut(ref table.P(At), _value);
            }

            return At != Inconsistent;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindRacy(uint b, uint hash, ReadOnlySpan<byte> key)
    {
        ref byte s = ref S(b);
        int idx = Next(ref s);
        if (idx == Empty)
        {
            return NotFound;
        }

        if (Matches(ref s, hash, key))
        {
            return Inline;
        }

        int steps = 0;
        while (idx >= 0)
        {
            if ((uint)idx >= (uint)_capacity || ++steps > _capacity)
            {
                return Inconsistent;
            }

            ref byte e = ref P(idx);
            if (Matches(ref e, hash, key))
            {
                return idx;
            }

            idx = Next(ref e);
        }

        return idx == Inline ? NotFound : Inconsistent;
    }

    protected override int UpdateElem(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        if (HasUnknownUpdateFlags(flags))
        {
            return Errno.EINVAL;
        }

        uint hash = HashKey(key);
        uint b = hash & _mask;
        int locked = Lock(b);
        int at = FindLocked(b, hash, key, out int prev);
        int err = CheckExistFlags(at != NotFound, flags);
        if (err == 0)
        {
            if (at == Inline)
            {
                value.CopyTo(Value(ref S(b)));
            }
            else if (at >= 0)
            {
                if (_percpu)
                {
                    value.CopyTo(Value(ref P(at)));
                }
                else
                {
                    // A fresh element at the head replaces the old one: reuse the old one's storage
                    // for the element the new head pushes out of the slot.
                    UnlinkOverflow(b, at, prev);
                    ref byte s = ref S(b);
                    ref byte e = ref P(at);
                    Move(ref s, ref e);
                    Next(ref e) = Next(ref s);
                    Next(ref s) = at;
                    Write(ref s, hash, key, value);
                }
            }
            else if (Reserve())
            {
                InsertHead(b, hash, key, value);
            }
            else
            {
                err = Errno.E2BIG;
            }
        }

        Unlock(b, locked);
        return err;
    }

    protected override int DeleteElem(ReadOnlySpan<byte> key) => Remove(key, default, copy: false);

    protected override int LookupAndDeleteElem(ReadOnlySpan<byte> key, Span<byte> value) => Remove(key, value, copy: true);

    private int Remove(ReadOnlySpan<byte> key, Span<byte> value, bool copy)
    {
        uint hash = HashKey(key);
        uint b = hash & _mask;
        int locked = Lock(b);
        int at = FindLocked(b, hash, key, out int prev);
        int free = -1;
        if (at != NotFound)
        {
            if (copy)
            {
                CopyValueOut(ref at == Inline ? ref S(b) : ref P(at), value);
            }

            free = RemoveAt(b, at, prev);
        }

        Unlock(b, locked);
        if (at == NotFound)
        {
            return Errno.ENOENT;
        }

        if (free >= 0)
        {
            PoolFree(free);
        }

        Unreserve(1);
        return 0;
    }

    protected override int GetNextKeyElem(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        uint start = 0;
        if (!key.IsEmpty)
        {
            uint hash = HashKey(key);
            uint b = hash & _mask;
            var read = new NextKeyRead(this, b, hash, key, nextKey);
            Seqlock.Read(ref Seq(b), ref read);
            if (read.Next >= 0)
            {
                return 0;
            }

            // Last in its chain: the next bucket. Not found at all: from the start.
            start = read.At == NotFound ? 0 : b + 1;
        }

        for (uint b = start; b < _nBuckets; b++)
        {
            if (FirstKey(b, nextKey))
            {
                return 0;
            }
        }

        return Errno.ENOENT;
    }

    /// <summary>Finds a key in its bucket and copies the key after it in the chain out, if there is one.</summary>
    private ref struct NextKeyRead(InlineHashTable table, uint bucket, uint hash, ReadOnlySpan<byte> key, Span<byte> nextKey) : ISeqlockReader
    {
        private readonly ReadOnlySpan<byte> _key = key;
        private readonly Span<byte> _nextKey = nextKey;

        /// <summary><see cref="Inline"/>, an overflow index, or <see cref="NotFound"/>.</summary>
        public int At;

        /// <summary>The overflow element after it, whose key was copied out, or a negative link.</summary>
        public int Next;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            At = table.FindRacy(bucket, hash, _key);
            Next = At == Inline ? InlineHashTable.Next(ref table.S(bucket)) : At >= 0 ? InlineHashTable.Next(ref table.P(At)) : -1;
            bool valid = At != Inconsistent && Next < table._capacity;
            if (valid && Next >= 0)
            {
                table.CopyKeyOut(ref table.P(Next), _nextKey);
            }

            return valid;
        }
    }

    private bool FirstKey(uint b, Span<byte> dst)
    {
        var read = new FirstKeyRead(this, b, dst);
        Seqlock.Read(ref Seq(b), ref read);
        return read.Found;
    }

    /// <summary>Copies the key in a bucket's slot out, if the bucket is not empty.</summary>
    private ref struct FirstKeyRead(InlineHashTable table, uint bucket, Span<byte> dst) : ISeqlockReader
    {
        private readonly Span<byte> _dst = dst;

        public bool Found;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            ref byte s = ref table.S(bucket);
            Found = Volatile.Read(ref InlineHashTable.Next(ref s)) != Empty;
            if (Found)
            {
                table.CopyKeyOut(ref s, _dst);
            }

            return true;
        }
    }

    // ---------------------------------------------------------------- batch

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

    // ---------------------------------------------------------------- atomic add

    protected override int AddElem(ReadOnlySpan<byte> key, ulong delta)
    {
        uint hash = HashKey(key);
        uint b = hash & _mask;
        int offset = _valueOffset + (_percpu ? Thread.GetCurrentProcessorId() % Cpus * _cpuStride : 0);
        int locked = Lock(b);
        int at = FindLocked(b, hash, key, out _);
        int err = 0;
        if (at == NotFound)
        {
            if (Reserve())
            {
                ref byte s = ref S(b);
                InsertHead(b, hash, key, ReadOnlySpan<byte>.Empty);
                Value(ref s).Clear();
                at = Inline;
            }
            else
            {
                err = Errno.E2BIG;
            }
        }

        if (err == 0)
        {
            ref byte v = ref Unsafe.Add(ref at == Inline ? ref S(b) : ref P(at), offset);
            if (Info.ValueSize == 8)
            {
                Unsafe.WriteUnaligned(ref v, Unsafe.ReadUnaligned<ulong>(ref v) + delta);
            }
            else
            {
                Unsafe.WriteUnaligned(ref v, Unsafe.ReadUnaligned<uint>(ref v) + (uint)delta);
            }
        }

        Unlock(b, locked);
        return err;
    }

    protected override void ReleaseInnerMaps()
    {
    }
}
