using BpfMaps.Btf;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>
/// The kernel's batch semantics, each shown on a real map and on the in-process engine (<see cref="Backends"/>),
/// with the kernel's behaviour as the expectation for both.
/// </summary>
public class BatchSemanticsTests
{
    /// <summary>64 keys in 64 buckets: with seed 0 the layout is fixed, and some buckets hold several keys.</summary>
    private static BpfMap Crowded(Backend backend, MapType type = MapType.Hash)
    {
        var map = Hash(backend, maxEntries: 64, type: type, flags: MapFlags.ZeroSeed);
        byte[] value = new byte[map.ValueBufferSize];
        for (uint i = 0; i < 64; i++)
        {
            BitConverter.GetBytes((ulong)i * 3).CopyTo(value, 0);
            map.Update(U32(i), value);
        }

        return map;
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Hash_batches_return_whole_buckets_only(Backend backend)
    {
        using var map = Crowded(backend);
        var groups = Buckets.Groups(map);
        Assert.Equal(64, groups.Sum(g => g.Count));
        Assert.Contains(groups, g => g.Count >= 2);
        var bucketOf = groups.SelectMany((g, i) => g.Select(k => (k, i))).ToDictionary(p => p.k, p => p.i);

        for (int size = 1; size <= 9; size++)
        {
            var cursor = map.CreateCursor();
            var all = new List<uint>();
            while (true)
            {
                int cap = size;
                byte[] keys = new byte[cap * 4];
                byte[] values = new byte[cap * 8];
                int count = cap;
                int err = map.LookupBatchOrErrno(false, cursor, keys, values, ref count);
                while (err == Errno.ENOSPC)
                {
                    // Only a bucket larger than the batch may be refused, and then nothing is returned.
                    Assert.Equal(0, count);
                    cap++;
                    keys = new byte[cap * 4];
                    values = new byte[cap * 8];
                    count = cap;
                    err = map.LookupBatchOrErrno(false, cursor, keys, values, ref count);
                }

                var got = Enumerable.Range(0, count).Select(i => BitConverter.ToUInt32(keys, i * 4)).ToList();
                foreach (var bucket in got.GroupBy(k => bucketOf[k]))
                {
                    Assert.Equal(groups[bucket.Key].Order(), bucket.Order());
                }

                all.AddRange(got);
                if (err == Errno.ENOENT)
                {
                    break;
                }

                Assert.Equal(0, err);
            }

            Assert.Equal(Enumerable.Range(0, 64).Select(i => (uint)i), all.Order());
        }
    }

    public static TheoryData<MapType, bool> HashTypesAndOps => new()
    {
        { MapType.Hash, false }, { MapType.PerCpuHash, false }, { MapType.LruHash, false }, { MapType.LruPerCpuHash, false },
        { MapType.Hash, true }, { MapType.PerCpuHash, true }, { MapType.LruHash, true }, { MapType.LruPerCpuHash, true },
    };

    [Theory]
    [MemberData(nameof(HashTypesAndOps))]
    public void Both_backends_answer_every_batch_size_alike_for_a_zero_seed_map(MapType type, bool delete)
    {
        // The same keys in the same buckets (jhash, seed 0): every call of a lookup (or lookup-and-delete)
        // batch walk, its errno, count, keys, values and the cursor after it, must be the same on the engine
        // as on the kernel, and so must what is left. LRU maps get room to spare, so that the kernel's per-CPU
        // free lists evict nothing.
        Backends.RequireKernel();
        int max = type is MapType.LruHash or MapType.LruPerCpuHash ? 256 : 64;
        var walks = new Dictionary<Backend, List<string>>();
        foreach (Backend backend in Enum.GetValues<Backend>())
        {
            var calls = new List<string>();
            for (int size = 1; size <= 9; size++)
            {
                using var map = Hash(backend, maxEntries: max, type: type, flags: MapFlags.ZeroSeed);
                byte[] value = new byte[map.ValueBufferSize];
                for (uint i = 0; i < 64; i++)
                {
                    for (int cpu = 0; cpu < map.Cpus; cpu++)
                    {
                        BitConverter.GetBytes(((ulong)i * 3) + (ulong)cpu).CopyTo(value, cpu * map.ValueStride);
                    }

                    map.Update(U32(i), value);
                }

                var cursor = map.CreateCursor();
                int cap = size;
                for (int call = 0; call < 200; call++)
                {
                    byte[] keys = new byte[cap * 4], values = new byte[cap * map.ValueBufferSize];
                    int count = cap;
                    int err = map.LookupBatchOrErrno(delete, cursor, keys, values, ref count);
                    calls.Add($"size {size}, cap {cap}: {Errno.Name(err)} {count} {Convert.ToHexString(keys.AsSpan(0, count * 4))} {Convert.ToHexString(values.AsSpan(0, count * map.ValueBufferSize))} {Convert.ToHexString(cursor.Position)}");
                    if (err == Errno.ENOSPC)
                    {
                        // Grow past the bucket that did not fit (the cursor has not moved), then go back to the size.
                        cap++;
                        continue;
                    }

                    cap = size;
                    Assert.True(err is 0 or Errno.ENOENT, calls[^1]);
                    if (err == Errno.ENOENT)
                    {
                        break;
                    }
                }

                calls.Add($"size {size}: {map.CountEntries()} left");
            }

            walks[backend] = calls;
        }

        Assert.Equal(walks[Backend.Kernel], walks[Backend.InProcess]);
        Assert.EndsWith(delete ? ": 0 left" : ": 64 left", walks[Backend.Kernel][^1]);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ENOSPC_returns_nothing_and_leaves_the_cursor(Backend backend)
    {
        using var map = Crowded(backend);
        var cursor = map.CreateCursor();
        byte[] keys = new byte[4], values = new byte[8];
        while (true)
        {
            byte[] before = cursor.Position.ToArray();
            try
            {
                var r = map.LookupBatch(cursor, keys, values);
                Assert.False(r.Exhausted, "a bucket with two keys must come before the end");
            }
            catch (BpfException e) when (e.Errno == Errno.ENOSPC)
            {
                Assert.Contains("batch size 1 too small", e.Message);
                Assert.Equal(before, cursor.Position.ToArray());
                byte[] bigKeys = new byte[64 * 4], bigValues = new byte[64 * 8];
                var bigger = map.LookupBatch(cursor, bigKeys, bigValues);
                Assert.True(bigger.Count >= 2);

                // The refused bucket comes whole with the bigger buffer, each key with its own value.
                for (int i = 0; i < bigger.Count; i++)
                {
                    Assert.Equal(BitConverter.ToUInt32(bigKeys, i * 4) * 3UL, BitConverter.ToUInt64(bigValues, i * 8));
                }

                return;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_short_count_is_not_the_end(Backend backend)
    {
        using var map = Crowded(backend);
        var cursor = map.CreateCursor();
        byte[] keys = new byte[3 * 4], values = new byte[3 * 8];
        bool sawShort = false;
        int total = 0;
        var seen = new List<uint>();
        while (true)
        {
            BatchResult r;
            byte[] got = keys;
            try
            {
                r = map.LookupBatch(cursor, keys, values);
            }
            catch (BpfException e) when (e.Errno == Errno.ENOSPC)
            {
                got = new byte[64 * 4];
                r = map.LookupBatch(cursor, got, new byte[64 * 8]);
            }

            total += r.Count;
            seen.AddRange(Enumerable.Range(0, r.Count).Select(i => BitConverter.ToUInt32(got, i * 4)));
            if (r.Exhausted)
            {
                break;
            }

            sawShort |= r.Count < 3;
        }

        Assert.True(sawShort, "with mixed bucket sizes some batch must come back short before the end");
        Assert.Equal(64, total);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (uint)i), seen.Order());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ENOENT_at_the_end_still_carries_entries(Backend backend)
    {
        using var map = Crowded(backend);
        var cursor = map.CreateCursor();
        byte[] keys = new byte[100 * 4], values = new byte[100 * 8];
        var r = map.LookupBatch(cursor, keys, values);
        Assert.Equal(new BatchResult(64, true), r);
        Assert.True(cursor.Exhausted);
        var entries = Enumerable.Range(0, 64).ToDictionary(i => BitConverter.ToUInt32(keys, i * 4), i => BitConverter.ToUInt64(values, i * 8));
        Assert.Equal(Enumerable.Range(0, 64).Select(i => (uint)i), entries.Keys.Order());
        Assert.All(entries, kv => Assert.Equal(kv.Key * 3UL, kv.Value));

        // Exactly the last entries: the kernel scans on through empty buckets and reports the end too.
        var c2 = map.CreateCursor();
        var r2 = map.LookupBatch(c2, new byte[64 * 4], new byte[64 * 8]);
        Assert.Equal(new BatchResult(64, true), r2);

        // After the end: nothing, and still the end.
        Assert.Equal(new BatchResult(0, true), map.LookupBatch(cursor, new byte[4], new byte[8]));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Array_batches_end_with_an_empty_ENOENT_when_the_size_divides(Backend backend)
    {
        using var map = Hash(backend, maxEntries: 10, type: MapType.Array);
        for (uint i = 0; i < 10; i++)
        {
            map.Update(U32(i), U64(100 + i));
        }

        var cursor = map.CreateCursor();
        byte[] keys = new byte[5 * 4], values = new byte[5 * 8];
        for (uint first = 0; first < 10; first += 5)
        {
            Assert.Equal(new BatchResult(5, false), map.LookupBatch(cursor, keys, values));

            // An array's batch is its slots in index order, each with its value.
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal(first + (uint)i, BitConverter.ToUInt32(keys, i * 4));
                Assert.Equal(100 + first + (uint)i, BitConverter.ToUInt64(values, i * 8));
            }
        }

        Assert.Equal(new BatchResult(0, true), map.LookupBatch(cursor, keys, values));

        var c3 = map.CreateCursor();
        keys = new byte[3 * 4];
        values = new byte[3 * 8];
        var counts = new List<BatchResult>();
        BatchResult r;
        do
        {
            r = map.LookupBatch(c3, keys, values);
            counts.Add(r);
        }
        while (!r.Exhausted);
        Assert.Equal([new(3, false), new(3, false), new(3, false), new(1, true)], counts);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Partial_count_on_error(Backend backend)
    {
        using var map = Hash(backend, maxEntries: 16);
        var typed = new BpfMap<uint, ulong>(map);
        typed.UpdateBatch([1, 2, 4], [10, 20, 40]);

        var del = Assert.Throws<BpfBatchException>(() => typed.DeleteBatch([1, 2, 3, 4]));
        Assert.Equal(Errno.ENOENT, del.Errno);
        Assert.Equal(2, del.Processed);
        Assert.False(typed.TryLookup(1, out _));
        Assert.False(typed.TryLookup(2, out _));
        Assert.True(typed.TryLookup(4, out _));

        // The kernel's batch update takes no NoExist/Exist; the public tier says so before the syscall.
        var flags = Assert.Throws<ArgumentException>(() => typed.UpdateBatch([7], [0], UpdateFlags.NoExist));
        Assert.Contains("only Lock", flags.Message);
        uint one = 1;
        Assert.Equal(Errno.EINVAL, map.Backend.UpdateBatch(U32(7), U64(0), ref one, (ulong)UpdateFlags.NoExist, 0));

        // Refused before the kernel's loop (Lock without a spin lock): nothing processed, nothing written.
        var refused = Assert.Throws<BpfBatchException>(() => typed.UpdateBatch([20, 21, 22], [1, 1, 1], UpdateFlags.Lock));
        Assert.Equal(Errno.EINVAL, refused.Errno);
        Assert.Equal(0, refused.Processed);
        Assert.False(typed.TryLookup(20, out _));

        using var array = Hash(backend, maxEntries: 4, type: MapType.Array);
        var upd = Assert.Throws<BpfBatchException>(() => new BpfMap<uint, ulong>(array).UpdateBatch([0, 1, 9, 2], [1, 1, 1, 1]));
        Assert.Equal(Errno.E2BIG, upd.Errno);
        Assert.Equal(2, upd.Processed);
        Assert.Contains("2 entries processed", upd.Message);

        using var small = Hash(backend, maxEntries: 2);
        var full = Assert.Throws<BpfBatchException>(() => new BpfMap<uint, ulong>(small).UpdateBatch([1, 2, 3], [1, 2, 3]));
        Assert.Equal(Errno.E2BIG, full.Errno);
        Assert.Equal(2, full.Processed);
    }

    [Fact]
    public unsafe void Count_is_untrusted_after_EFAULT()
    {
        // Kernel only: a span over memory that is not there is the kernel's to catch (its copy from user memory
        // faults, EFAULT). The engine reads caller memory directly, in this process, so the same call would
        // fault the test process itself; its EFAULT is for buffers shorter than the count, which only the raw
        // tier can pass (docs/performance.md, "Misuse").
        using var map = Hash(maxEntries: 16);
        var keys = new ReadOnlySpan<byte>((void*)0x10, 4 * 4);
        byte[] values = new byte[4 * 8];
        var e = Assert.Throws<BpfBatchException>(() => map.UpdateBatch(new ReadOnlySpan<byte>((void*)0x10, 16), values));
        Assert.Equal(Errno.EFAULT, e.Errno);
        Assert.Null(e.Processed);
        Assert.Contains("untrusted", e.Message);
        Assert.Equal(16, keys.Length);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Count_zero_does_nothing(Backend backend)
    {
        using var map = Crowded(backend);
        var cursor = map.CreateCursor();
        Assert.Equal(new BatchResult(0, false), map.LookupBatch(cursor, Span<byte>.Empty, Span<byte>.Empty));
        Assert.False(cursor.Started);
        Assert.Equal(0, map.UpdateBatch(ReadOnlySpan<byte>.Empty, ReadOnlySpan<byte>.Empty));
        Assert.Equal(0, map.DeleteBatch(ReadOnlySpan<byte>.Empty));
        Assert.Equal(64, map.CountEntries());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Unsupported_batch_ops_name_the_operation_and_the_map_type(Backend backend)
    {
        using var array = Hash(backend, maxEntries: 4, type: MapType.Array);
        var cursor = array.CreateCursor();
        var e = Assert.Throws<BpfNotSupportedException>(() => array.LookupAndDeleteBatch(cursor, new byte[16], new byte[32]));
        Assert.Equal(Errno.ENOTSUPP, e.Errno);
        Assert.Contains("BPF_MAP_LOOKUP_AND_DELETE_BATCH", e.Message);
        Assert.Contains("Array", e.Message);

        var d = Assert.Throws<BpfNotSupportedException>(() => array.DeleteBatch(U32(0)));
        Assert.Contains("BPF_MAP_DELETE_BATCH on Array", d.Message);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Cursor_refuses_another_map(Backend backend)
    {
        using var a = Hash(backend, name: "t_a");
        using var b = Hash(backend, name: "t_b");
        var cursor = a.CreateCursor();
        var e = Assert.Throws<ArgumentException>(() => b.LookupBatch(cursor, new byte[4], new byte[8]));
        Assert.Contains("t_a", e.Message);
        Assert.Contains("t_b", e.Message);
        Assert.Equal(4, cursor.Size);
        using var wide = Hash(backend, keySize: 16, name: "t_c");
        Assert.Equal(16, wide.CreateCursor().Size);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Cursor_for_hash_is_the_bucket_index(Backend backend)
    {
        using var map = Crowded(backend);
        var cursor = map.CreateCursor();
        map.LookupBatch(cursor, new byte[100 * 4], new byte[100 * 8]);
        Assert.Equal(64u, BitConverter.ToUInt32(cursor.Position)); // n_buckets = roundup_pow_of_two(64)
    }

    private static (BtfSpec Btf, uint KeyId, uint ValueId) SpinLockBtf()
    {
        var b = new BtfBuilder();
        uint i = b.AddInt("int", 4, isSigned: true);
        uint lockId = b.AddStruct("bpf_spin_lock", 4, ("val", i, 0));
        uint val = b.AddStruct("locked_counter", 8, ("lock", lockId, 0), ("count", i, 4));
        return (BtfSpec.Parse(b.Build()), i, val);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Elem_flags_lock_needs_a_spin_lock_in_the_value(Backend backend)
    {
        var (btf, keyId, valueId) = SpinLockBtf();
        var spec = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 8, BtfTypes = btf, BtfKeyTypeId = keyId, BtfValueTypeId = valueId, Name = "t_locked" };
        if (backend == Backend.InProcess)
        {
            // The engine's values carry no bpf_spin_lock, so it refuses a value type that holds one instead of
            // taking BPF_F_LOCK without its meaning (docs/performance.md, "No spin locks").
            var refused = Assert.Throws<NotSupportedException>(() => Backends.Create(backend, spec));
            Assert.Contains("bpf_spin_lock", refused.Message);
        }
        else
        {
            using var map = Backends.Create(backend, spec);
            byte[] v = new byte[8];
            BitConverter.GetBytes(5).CopyTo(v, 4);
            map.Update(U32(1), v, UpdateFlags.Lock);
            byte[] back = new byte[8];
            Assert.True(map.TryLookup(U32(1), back, LookupFlags.Lock));
            Assert.Equal(5, BitConverter.ToInt32(back, 4));

            var cursor = map.CreateCursor();
            byte[] keys = new byte[8 * 4], values = new byte[8 * 8];
            var r = map.LookupBatch(cursor, keys, values, LookupFlags.Lock);
            Assert.Equal(new BatchResult(1, true), r);
            Assert.Equal(1u, BitConverter.ToUInt32(keys, 0));
            Assert.Equal(5, BitConverter.ToInt32(values, 4));
            Assert.Equal(1, map.UpdateBatch(U32(2), v, 1, UpdateFlags.Lock));
            Assert.True(map.TryLookup(U32(2), back, LookupFlags.Lock));
            Assert.Equal(5, BitConverter.ToInt32(back, 4));
        }

        // Without a spin lock in the value, Lock is EINVAL on both backends, for batches and elements.
        using var plain = Hash(backend);
        plain.Update(U32(1), U64(1));
        var e = Assert.Throws<BpfBatchException>(() => plain.LookupBatch(plain.CreateCursor(), new byte[4], new byte[8], LookupFlags.Lock));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => plain.Update(U32(1), U64(2), UpdateFlags.Lock)).Errno);
        byte[] kept = new byte[8];
        Assert.True(plain.TryLookup(U32(1), kept));
        Assert.Equal(1UL, BitConverter.ToUInt64(kept));
    }
}
