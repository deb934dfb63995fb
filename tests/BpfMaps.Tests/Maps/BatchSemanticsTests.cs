using BpfMaps.Btf;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>The kernel's batch semantics, each shown on a real map.</summary>
public class BatchSemanticsTests
{
    /// <summary>64 keys in 64 buckets: with seed 0 the layout is fixed, and some buckets hold several keys.</summary>
    private static BpfMap Crowded(MapType type = MapType.Hash)
    {
        var map = Hash(maxEntries: 64, type: type, flags: MapFlags.ZeroSeed);
        byte[] value = new byte[map.ValueBufferSize];
        for (uint i = 0; i < 64; i++)
        {
            BitConverter.GetBytes((ulong)i * 3).CopyTo(value, 0);
            map.Update(U32(i), value);
        }

        return map;
    }

    [Fact]
    public void HashBatchesReturnWholeBucketsOnly()
    {
        using var map = Crowded();
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

    [Fact]
    public void EnospcReturnsNothingAndLeavesTheCursor()
    {
        using var map = Crowded();
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
                var bigger = map.LookupBatch(cursor, new byte[64 * 4], new byte[64 * 8]);
                Assert.True(bigger.Count >= 2);
                return;
            }
        }
    }

    [Fact]
    public void AShortCountIsNotTheEnd()
    {
        using var map = Crowded();
        var cursor = map.CreateCursor();
        byte[] keys = new byte[3 * 4], values = new byte[3 * 8];
        bool sawShort = false;
        int total = 0;
        while (true)
        {
            BatchResult r;
            try
            {
                r = map.LookupBatch(cursor, keys, values);
            }
            catch (BpfException e) when (e.Errno == Errno.ENOSPC)
            {
                r = map.LookupBatch(cursor, new byte[64 * 4], new byte[64 * 8]);
            }

            total += r.Count;
            if (r.Exhausted)
            {
                break;
            }

            sawShort |= r.Count < 3;
        }

        Assert.True(sawShort, "with mixed bucket sizes some batch must come back short before the end");
        Assert.Equal(64, total);
    }

    [Fact]
    public void EnoentAtTheEndStillCarriesEntries()
    {
        using var map = Crowded();
        var cursor = map.CreateCursor();
        var r = map.LookupBatch(cursor, new byte[100 * 4], new byte[100 * 8]);
        Assert.Equal(new BatchResult(64, true), r);
        Assert.True(cursor.Exhausted);

        // Exactly the last entries: the kernel scans on through empty buckets and reports the end too.
        var c2 = map.CreateCursor();
        var r2 = map.LookupBatch(c2, new byte[64 * 4], new byte[64 * 8]);
        Assert.Equal(new BatchResult(64, true), r2);

        // After the end: nothing, and still the end.
        Assert.Equal(new BatchResult(0, true), map.LookupBatch(cursor, new byte[4], new byte[8]));
    }

    [Fact]
    public void ArrayBatchesEndWithAnEmptyEnoentWhenTheSizeDivides()
    {
        using var map = Hash(maxEntries: 10, type: MapType.Array);
        var cursor = map.CreateCursor();
        byte[] keys = new byte[5 * 4], values = new byte[5 * 8];
        Assert.Equal(new BatchResult(5, false), map.LookupBatch(cursor, keys, values));
        Assert.Equal(new BatchResult(5, false), map.LookupBatch(cursor, keys, values));
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

    [Fact]
    public void PartialCountOnError()
    {
        using var map = Hash(maxEntries: 16);
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

        using var array = Hash(maxEntries: 4, type: MapType.Array);
        var upd = Assert.Throws<BpfBatchException>(() => new BpfMap<uint, ulong>(array).UpdateBatch([0, 1, 9, 2], [1, 1, 1, 1]));
        Assert.Equal(Errno.E2BIG, upd.Errno);
        Assert.Equal(2, upd.Processed);
        Assert.Contains("2 entries processed", upd.Message);

        using var small = Hash(maxEntries: 2);
        var full = Assert.Throws<BpfBatchException>(() => new BpfMap<uint, ulong>(small).UpdateBatch([1, 2, 3], [1, 2, 3]));
        Assert.Equal(Errno.E2BIG, full.Errno);
        Assert.Equal(2, full.Processed);
    }

    [Fact]
    public unsafe void CountIsUntrustedAfterEfault()
    {
        using var map = Hash(maxEntries: 16);
        var keys = new ReadOnlySpan<byte>((void*)0x10, 4 * 4);
        byte[] values = new byte[4 * 8];
        var e = Assert.Throws<BpfBatchException>(() => map.UpdateBatch(new ReadOnlySpan<byte>((void*)0x10, 16), values));
        Assert.Equal(Errno.EFAULT, e.Errno);
        Assert.Null(e.Processed);
        Assert.Contains("untrusted", e.Message);
        Assert.Equal(16, keys.Length);
    }

    [Fact]
    public void CountZeroDoesNothing()
    {
        using var map = Crowded();
        var cursor = map.CreateCursor();
        Assert.Equal(new BatchResult(0, false), map.LookupBatch(cursor, Span<byte>.Empty, Span<byte>.Empty));
        Assert.False(cursor.Started);
        Assert.Equal(0, map.UpdateBatch(ReadOnlySpan<byte>.Empty, ReadOnlySpan<byte>.Empty));
        Assert.Equal(0, map.DeleteBatch(ReadOnlySpan<byte>.Empty));
        Assert.Equal(64, map.CountEntries());
    }

    [Fact]
    public void UnsupportedBatchOpsNameTheOperationAndTheMapType()
    {
        using var array = Hash(maxEntries: 4, type: MapType.Array);
        var cursor = array.CreateCursor();
        var e = Assert.Throws<BpfNotSupportedException>(() => array.LookupAndDeleteBatch(cursor, new byte[16], new byte[32]));
        Assert.Equal(Errno.ENOTSUPP, e.Errno);
        Assert.Contains("BPF_MAP_LOOKUP_AND_DELETE_BATCH", e.Message);
        Assert.Contains("Array", e.Message);

        var d = Assert.Throws<BpfNotSupportedException>(() => array.DeleteBatch(U32(0)));
        Assert.Contains("BPF_MAP_DELETE_BATCH on Array", d.Message);
    }

    [Fact]
    public void CursorRefusesAnotherMap()
    {
        using var a = Hash(name: "t_a");
        using var b = Hash(name: "t_b");
        var cursor = a.CreateCursor();
        var e = Assert.Throws<ArgumentException>(() => b.LookupBatch(cursor, new byte[4], new byte[8]));
        Assert.Contains("t_a", e.Message);
        Assert.Contains("t_b", e.Message);
        Assert.Equal(4, cursor.Size);
        using var wide = Hash(keySize: 16, name: "t_c");
        Assert.Equal(16, wide.CreateCursor().Size);
    }

    [Fact]
    public void CursorForHashIsTheBucketIndex()
    {
        using var map = Crowded();
        var cursor = map.CreateCursor();
        map.LookupBatch(cursor, new byte[100 * 4], new byte[100 * 8]);
        Assert.Equal(64u, BitConverter.ToUInt32(cursor.Position)); // n_buckets = roundup_pow_of_two(64)
    }

    private static (BtfObject Btf, uint KeyId, uint ValueId) SpinLockBtf()
    {
        var b = new BtfBuilder();
        uint i = b.AddInt("int", 4, isSigned: true);
        uint lockId = b.AddStruct("bpf_spin_lock", 4, ("val", i, 0));
        uint val = b.AddStruct("locked_counter", 8, ("lock", lockId, 0), ("count", i, 4));
        return (BtfObject.Load(b.Build()), i, val);
    }

    [Fact]
    public void ElemFlagsLockNeedsASpinLockInTheValue()
    {
        Require();
        var (btf, keyId, valueId) = SpinLockBtf();
        using (btf)
        using (var map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 8, Btf = btf, BtfKeyTypeId = keyId, BtfValueTypeId = valueId, Name = "t_locked" }))
        {
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
            Assert.Equal(5, BitConverter.ToInt32(values, 4));
            Assert.Equal(1, map.UpdateBatch(U32(2), v, 1, UpdateFlags.Lock));
        }

        using var plain = Hash();
        plain.Update(U32(1), U64(1));
        var e = Assert.Throws<BpfBatchException>(() => plain.LookupBatch(plain.CreateCursor(), new byte[4], new byte[8], LookupFlags.Lock));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => plain.Update(U32(1), U64(2), UpdateFlags.Lock)).Errno);
    }
}
