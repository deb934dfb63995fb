using System.Buffers.Binary;
using System.Numerics;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// One behaviour, two backends: each test runs on the kernel and on the in-process engine and states
/// the kernel's behaviour as the expectation.
/// </summary>
public class ConformanceTests
{
    private static MapSpec HashSpec(MapType type = MapType.Hash, int key = 4, int value = 8, int max = 8, MapFlags flags = MapFlags.ZeroSeed)
        => new() { Type = type, KeySize = key, ValueSize = value, MaxEntries = max, Flags = flags };

    private static MapSpec ArraySpec(MapType type = MapType.Array, int value = 8, int max = 4)
        => new() { Type = type, KeySize = 4, ValueSize = value, MaxEntries = max };

    private static uint Bucket(byte[] key, int maxEntries) => JHash.Hash(key, 0) & (BitOperations.RoundUpToPowerOf2((uint)maxEntries) - 1);

    /// <summary>Keys (u32) that land in the same bucket of a zero-seed map with <paramref name="maxEntries"/>.</summary>
    private static List<uint> Colliding(int maxEntries, int count)
    {
        var byBucket = new Dictionary<uint, List<uint>>();
        for (uint k = 1; ; k++)
        {
            uint b = Bucket(Bytes.U32(k), maxEntries);
            if (!byBucket.TryGetValue(b, out var list))
            {
                byBucket[b] = list = [];
            }

            list.Add(k);
            if (list.Count == count)
            {
                return list;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Hash_element_ops_return_the_kernels_errno(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, HashSpec(max: 2));
        IMapBackend m = map.Backend;
        var v = new byte[8];
        Assert.Equal(Errno.ENOENT, m.Lookup(Bytes.U32(1), v, 0));
        Assert.Equal(Errno.ENOENT, m.Update(Bytes.U32(1), Bytes.U64(10), 2));
        Assert.Equal(0, m.Update(Bytes.U32(1), Bytes.U64(10), 1));
        Assert.Equal(Errno.EEXIST, m.Update(Bytes.U32(1), Bytes.U64(11), 1));
        Assert.Equal(0, m.Update(Bytes.U32(1), Bytes.U64(12), 2));
        Assert.Equal(0, m.Update(Bytes.U32(2), Bytes.U64(20), 0));
        Assert.Equal(Errno.E2BIG, m.Update(Bytes.U32(3), Bytes.U64(30), 0));
        Assert.Equal(0, m.Update(Bytes.U32(2), Bytes.U64(21), 0));
        Assert.Equal(Errno.EINVAL, m.Update(Bytes.U32(2), Bytes.U64(21), 3));
        Assert.Equal(Errno.EINVAL, m.Update(Bytes.U32(2), Bytes.U64(21), 4));
        Assert.Equal(Errno.EINVAL, m.Lookup(Bytes.U32(2), v, 4));
        Assert.Equal(Errno.EINVAL, m.Lookup(Bytes.U32(2), v, 8));
        Assert.Equal(0, m.Lookup(Bytes.U32(1), v, 0));
        Assert.Equal(12UL, BinaryPrimitives.ReadUInt64LittleEndian(v));
        Assert.Equal(0, m.LookupAndDelete(Bytes.U32(2), v, 0));
        Assert.Equal(21UL, BinaryPrimitives.ReadUInt64LittleEndian(v));
        Assert.Equal(Errno.ENOENT, m.Delete(Bytes.U32(2)));
        Assert.Equal(0, m.Delete(Bytes.U32(1)));
        Assert.Equal(Errno.ENOENT, m.GetNextKey(ReadOnlySpan<byte>.Empty, new byte[4]));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Hash_iteration_follows_jhash_buckets(Backend backend)
    {
        const int max = 64;
        using BpfMap map = Backends.Create(backend, HashSpec(key: 6, max: max));
        var keys = Enumerable.Range(0, 40).Select(i => Bytes.Fill(6, i)).ToList();
        foreach (byte[] k in keys)
        {
            map.Update(k, Bytes.U64(1));
        }

        // Bucket by bucket; inside a bucket the newest key first (inserted at the head).
        var expected = keys.Select((k, i) => (k, i)).OrderBy(x => Bucket(x.k, max)).ThenByDescending(x => x.i).Select(x => Bytes.Hex(x.k));
        Assert.Equal(expected, Bytes.WalkKeys(map.Backend, 6).Select(k => Bytes.Hex(k)));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Updating_a_key_moves_it_to_the_head_of_its_bucket_except_per_cpu(Backend backend)
    {
        List<uint> same = Colliding(4, 3);
        foreach (MapType type in new[] { MapType.Hash, MapType.PerCpuHash })
        {
            foreach (MapFlags flags in new[] { MapFlags.ZeroSeed, MapFlags.ZeroSeed | MapFlags.NoPrealloc })
            {
                using BpfMap map = Backends.Create(backend, HashSpec(type, max: 4, flags: flags));
                var value = new byte[map.ValueBufferSize];
                foreach (uint k in same)
                {
                    map.Update(Bytes.U32(k), value);
                }

                map.Update(Bytes.U32(same[0]), value, UpdateFlags.Exist);
                var order = Bytes.WalkKeys(map.Backend, 4).Select(k => BinaryPrimitives.ReadUInt32LittleEndian(k)).ToList();
                uint[] expected = type == MapType.Hash ? [same[0], same[2], same[1]] : [same[2], same[1], same[0]];
                Assert.Equal(expected, order);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Get_next_key_of_a_missing_key_starts_over(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, HashSpec(max: 16));
        for (uint k = 1; k <= 5; k++)
        {
            map.Update(Bytes.U32(k), Bytes.U64(k));
        }

        var first = new byte[4];
        var next = new byte[4];
        Assert.Equal(0, map.Backend.GetNextKey(ReadOnlySpan<byte>.Empty, first));
        Assert.Equal(0, map.Backend.GetNextKey(Bytes.U32(999), next));
        Assert.Equal(first, next);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Arrays_have_every_element_and_no_delete(Backend backend)
    {
        foreach (MapType type in new[] { MapType.Array, MapType.PerCpuArray })
        {
            using BpfMap map = Backends.Create(backend, ArraySpec(type));
            IMapBackend m = map.Backend;
            var v = new byte[map.ValueBufferSize];
            Assert.Equal(0, m.Lookup(Bytes.U32(3), v, 0));
            Assert.All(v, b => Assert.Equal(0, b));
            Assert.Equal(Errno.ENOENT, m.Lookup(Bytes.U32(4), v, 0));
            Assert.Equal(Errno.E2BIG, m.Update(Bytes.U32(4), v, 0));
            Assert.Equal(Errno.EEXIST, m.Update(Bytes.U32(1), v, 1));
            Assert.Equal(0, m.Update(Bytes.U32(1), v, 2));
            Assert.Equal(Errno.EINVAL, m.Update(Bytes.U32(1), v, 3));
            Assert.Equal(Errno.EINVAL, m.Delete(Bytes.U32(1)));
            Assert.Equal(Errno.ENOTSUPP, m.LookupAndDelete(Bytes.U32(1), v, 0));
            var next = new byte[4];
            Assert.Equal(0, m.GetNextKey(ReadOnlySpan<byte>.Empty, next));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(next));
            Assert.Equal(0, m.GetNextKey(Bytes.U32(77), next));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(next));
            Assert.Equal(0, m.GetNextKey(Bytes.U32(2), next));
            Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(next));
            Assert.Equal(Errno.ENOENT, m.GetNextKey(Bytes.U32(3), next));
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Per_cpu_values_keep_their_padding_and_every_cpu(Backend backend)
    {
        foreach (MapSpec spec in new[] { HashSpec(MapType.PerCpuHash, value: 2), ArraySpec(MapType.PerCpuArray, value: 2) })
        {
            using BpfMap map = Backends.Create(backend, spec);
            Assert.Equal(8, map.ValueStride);
            Assert.Equal(8 * PossibleCpus.Count, map.ValueBufferSize);
            byte[] v = Bytes.Fill(map.ValueBufferSize, 5);
            map.Update(Bytes.U32(1), v);
            var back = new byte[map.ValueBufferSize];
            Assert.True(map.TryLookup(Bytes.U32(1), back));
            Assert.Equal(v, back);

            var typed = new PerCpuBpfMap<uint, ushort>(map);
            typed.Update(2, Enumerable.Range(0, typed.Cpus).Select(i => (ushort)(100 + i)).ToArray());
            Assert.Equal(Enumerable.Range(0, typed.Cpus).Select(i => (ushort)(100 + i)), (typed.TryLookup(2, out ushort[]? v2) ? v2 : null)!);
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Hash_batch_copies_whole_buckets_only(Backend backend)
    {
        List<uint> same = Colliding(4, 3);
        using BpfMap map = Backends.Create(backend, HashSpec(max: 4));
        foreach (uint k in same)
        {
            map.Update(Bytes.U32(k), Bytes.U64(k));
        }

        IMapBackend m = map.Backend;
        var outBatch = new byte[4];
        var keys = new byte[4 * 4];
        var values = new byte[4 * 8];

        uint count = 2;
        Assert.Equal(Errno.ENOSPC, m.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(0u, count);
        Assert.Equal(Bucket(Bytes.U32(same[0]), 4), BinaryPrimitives.ReadUInt32LittleEndian(outBatch));

        // Exactly the last bucket's entries: the kernel still scans the empty buckets after it and says ENOENT.
        count = 3;
        Assert.Equal(Errno.ENOENT, m.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(3u, count);
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(outBatch));

        count = 3;
        Assert.Equal(Errno.ENOENT, m.LookupBatch(false, Bytes.U32(4), outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(0u, count);

        count = 0;
        Assert.Equal(0, m.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(Errno.EINVAL, m.LookupBatch(false, default, outBatch, keys, values, ref count, 1, 0));
        count = 3;
        Assert.Equal(Errno.EINVAL, m.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 1));
        Assert.Equal(3u, count);

        Assert.Equal(Errno.ENOENT, m.LookupBatch(true, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(3u, count);
        Assert.Equal(0L, map.CountEntries());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Array_batch_uses_the_generic_cursor(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, ArraySpec(max: 4));
        IMapBackend m = map.Backend;
        var outBatch = new byte[4];
        var keys = new byte[4 * 4];
        var values = new byte[4 * 8];
        uint count = 4;

        // A full batch returns 0 even though it reached the last index; the next call says ENOENT with nothing.
        Assert.Equal(0, m.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(4u, count);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(outBatch));
        var sentinel = new byte[] { 0xAA, 0xAA, 0xAA, 0xAA };
        sentinel.CopyTo(outBatch, 0);
        Assert.Equal(Errno.ENOENT, m.LookupBatch(false, Bytes.U32(3), outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(0u, count);
        Assert.Equal(sentinel, outBatch);

        // batch.flags is not checked by the generic code; elem_flags is.
        count = 2;
        Assert.Equal(0, m.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 1));
        Assert.Equal(Errno.EINVAL, m.LookupBatch(false, default, outBatch, keys, values, ref count, 4, 0));
        Assert.Equal(Errno.ENOTSUPP, m.LookupBatch(true, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(Errno.ENOTSUPP, m.DeleteBatch(keys, ref count, 0, 0));

        // Update batch takes no update flags at all (only BPF_F_LOCK, which needs a spin lock).
        count = 2;
        Assert.Equal(Errno.EINVAL, m.UpdateBatch(keys.AsSpan(0, 8), values.AsSpan(0, 16), ref count, 2, 0));
        Assert.Equal(2u, count);
        Assert.Equal(0, m.UpdateBatch(keys.AsSpan(0, 8), values.AsSpan(0, 16), ref count, 0, 7));
        BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(4), 9);
        Assert.Equal(Errno.E2BIG, m.UpdateBatch(keys.AsSpan(0, 8), values.AsSpan(0, 16), ref count, 0, 0));
        Assert.Equal(1u, count);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Frozen_maps_refuse_syscall_writes(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, HashSpec());
        map.Update(Bytes.U32(1), Bytes.U64(1));
        map.Freeze();
        IMapBackend m = map.Backend;
        Assert.Equal(Errno.EPERM, m.Freeze());
        Assert.Equal(Errno.EPERM, m.Update(Bytes.U32(1), Bytes.U64(2), 0));
        Assert.Equal(Errno.EPERM, m.Delete(Bytes.U32(1)));
        Assert.Equal(Errno.EPERM, m.LookupAndDelete(Bytes.U32(1), new byte[8], 0));
        uint count = 1;
        Assert.Equal(Errno.EPERM, m.LookupBatch(true, default, new byte[4], new byte[4], new byte[8], ref count, 0, 0));
        Assert.True(map.TryLookup(Bytes.U32(1), new byte[8]));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dump_and_drain_see_every_entry(Backend backend)
    {
        foreach (MapType type in new[] { MapType.Hash, MapType.LruHash })
        {
            using BpfMap map = Backends.Create(backend, HashSpec(type, max: 1000));
            var typed = new BpfMap<uint, ulong>(map);
            for (uint k = 0; k < 500; k++)
            {
                typed.Update(k, k * 3);
            }

            var seen = new Dictionary<uint, ulong>();
            foreach (var (k, v) in typed.Dump(new DumpOptions { BatchSize = 7 }))
            {
                seen.Add(k, v);
            }

            Assert.Equal(Enumerable.Range(0, 500).Select(i => (uint)i), seen.Keys.Order());
            Assert.All(seen, kv => Assert.Equal(kv.Key * 3, kv.Value));
            var drained = new HashSet<uint>();
            foreach (var (k, v) in typed.Drain(new DumpOptions { BatchSize = 3 }))
            {
                Assert.Equal(k * 3, v);
                Assert.True(drained.Add(k), $"key {k} drained twice");
            }

            Assert.Equal(seen.Keys.Order(), drained.Order());
            Assert.Equal(0L, map.CountEntries());
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Per_cpu_dump_and_drain_through_the_typed_view(Backend backend)
    {
        foreach (MapType type in new[] { MapType.PerCpuHash, MapType.LruPerCpuHash })
        {
            using BpfMap map = Backends.Create(backend, HashSpec(type, max: 64));
            var typed = new PerCpuBpfMap<uint, ulong>(map);
            for (uint k = 0; k < 40; k++)
            {
                typed.Update(k, Enumerable.Range(0, typed.Cpus).Select(c => (ulong)(k * 10 + (uint)c)).ToArray());
            }

            var seen = new HashSet<uint>();
            foreach (var entry in typed.Dump(new DumpOptions { BatchSize = 4 }))
            {
                for (int c = 0; c < typed.Cpus; c++)
                {
                    Assert.Equal((ulong)(entry.Key * 10 + (uint)c), entry.Values[c]);
                }

                Assert.True(seen.Add(entry.Key), $"key {entry.Key} dumped twice");
            }

            Assert.Equal(Enumerable.Range(0, 40).Select(i => (uint)i), seen.Order());
            var drained = new HashSet<uint>();
            foreach (var entry in typed.Drain())
            {
                for (int c = 0; c < typed.Cpus; c++)
                {
                    Assert.Equal((ulong)(entry.Key * 10 + (uint)c), entry.Values[c]);
                }

                Assert.True(drained.Add(entry.Key), $"key {entry.Key} drained twice");
            }

            Assert.Equal(seen.Order(), drained.Order());
            Assert.Equal(0L, map.CountEntries());
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Invalid_specs_fail_with_the_kernels_errno(Backend backend)
    {
        (MapSpec Spec, int Errno)[] cases =
        [
            (HashSpec(value: 0), Errno.EINVAL),
            (HashSpec(max: 0), Errno.EINVAL),
            (HashSpec(flags: MapFlags.NoCommonLru), Errno.EINVAL),
            (HashSpec(MapType.LruHash, flags: MapFlags.NoPrealloc), Errno.ENOTSUPP),
            (HashSpec(flags: MapFlags.Mmapable), Errno.EINVAL),
            (HashSpec(MapType.PerCpuHash, value: 40000), Errno.E2BIG),
            (new MapSpec { Type = MapType.Array, KeySize = 8, ValueSize = 8, MaxEntries = 4 }, Errno.EINVAL),
            (new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4, Flags = MapFlags.ZeroSeed }, Errno.EINVAL),
            (new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 4, Flags = MapFlags.Mmapable }, Errno.EINVAL),

            // A vmlinux value type belongs to struct_ops maps: map_create refuses it first, before looking at BTF.
            (HashSpec() with { BtfVmlinuxValueTypeId = 1 }, Errno.EINVAL),
            (new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4, BtfVmlinuxValueTypeId = 7 }, Errno.EINVAL),
        ];
        foreach (var (spec, errno) in cases)
        {
            Exception e = Assert.ThrowsAny<Exception>(() => Backends.Create(backend, spec).Dispose());
            int got = e is BpfException b ? b.Errno : -1;
            Assert.True(errno == got, $"{spec}: expected {Errno.Name(errno)}, got {e}");
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Numa_node_counts_only_with_its_flag(Backend backend)
    {
        using BpfMap ignored = Backends.Create(backend, HashSpec() with { NumaNode = 5 });
        using BpfMap node0 = Backends.Create(backend, HashSpec(flags: MapFlags.ZeroSeed | MapFlags.NumaNode));
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => Backends.Create(backend, HashSpec(flags: MapFlags.NumaNode) with { NumaNode = 4096 }).Dispose()).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => Backends.Create(backend, HashSpec(MapType.PerCpuHash, flags: MapFlags.NumaNode)).Dispose()).Errno);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void No_common_lru_rounds_max_entries_to_the_cpus(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, HashSpec(MapType.LruHash, max: 5, flags: MapFlags.ZeroSeed | MapFlags.NoCommonLru));
        Assert.Equal((5 + PossibleCpus.Count - 1) / PossibleCpus.Count * PossibleCpus.Count, map.MaxEntries);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Map_in_map_stores_inner_maps_and_reads_back_their_ids(Backend backend)
    {
        using BpfMap inner = Backends.Create(backend, ArraySpec(max: 4));
        using BpfMap other = Backends.Create(backend, ArraySpec(max: 5));
        using BpfMap aom = Backends.Create(backend, new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = inner });
        using BpfMap hom = Backends.Create(backend, new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = inner, Flags = MapFlags.ZeroSeed });
        var v = new byte[4];

        Assert.Equal(Errno.ENOENT, aom.Backend.Lookup(Bytes.U32(0), v, 0));
        aom.SetInnerMap(Bytes.U32(1), inner);
        Assert.Equal(0, aom.Backend.Lookup(Bytes.U32(1), v, 0));
        Assert.Equal(inner.Id, BinaryPrimitives.ReadUInt32LittleEndian(v));
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => aom.SetInnerMap(Bytes.U32(2), other)).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => aom.SetInnerMap(Bytes.U32(2), inner, UpdateFlags.NoExist)).Errno);
        Assert.Equal(Errno.EBADF, aom.Backend.Update(Bytes.U32(2), Bytes.U32(0x7FFF_FFF0), 0));
        Assert.Equal(Errno.ENOENT, aom.Backend.Delete(Bytes.U32(2)));
        Assert.Equal(Errno.E2BIG, aom.Backend.Delete(Bytes.U32(9)));

        // Generic batch lookup skips empty slots; out_batch is the last index visited.
        uint count = 2;
        var outBatch = new byte[4];
        var keys = new byte[8];
        var values = new byte[8];
        Assert.Equal(Errno.ENOENT, aom.Backend.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(1u, count);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(keys));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(outBatch));
        Assert.Equal(Errno.ENOTSUPP, aom.Backend.DeleteBatch(keys, ref count, 0, 0));

        hom.SetInnerMap(Bytes.U32(7), inner);
        Assert.Equal(Errno.EEXIST, Assert.Throws<BpfException>(() => hom.SetInnerMap(Bytes.U32(7), inner, UpdateFlags.NoExist)).Errno);
        Assert.Equal(0, hom.Backend.Lookup(Bytes.U32(7), v, 0));
        Assert.Equal(inner.Id, BinaryPrimitives.ReadUInt32LittleEndian(v));
        Assert.Equal(Errno.ENOTSUPP, hom.Backend.LookupAndDelete(Bytes.U32(7), v, 0));
        count = 4;
        keys = new byte[16];
        values = new byte[16];
        Assert.Equal(Errno.ENOENT, hom.Backend.LookupBatch(false, default, outBatch, keys, values, ref count, 0, 0));
        Assert.Equal(1u, count);
        Assert.Equal(inner.Id, BinaryPrimitives.ReadUInt32LittleEndian(values));
        count = 1;
        Assert.Equal(0, hom.Backend.DeleteBatch(Bytes.U32(7), ref count, 0, 0));
        Assert.Equal(Errno.ENOENT, hom.Backend.Lookup(Bytes.U32(7), v, 0));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Lru_maps_stay_bounded_and_keep_the_key_just_written(Backend backend)
    {
        foreach (MapType type in new[] { MapType.LruHash, MapType.LruPerCpuHash })
        {
            using BpfMap map = Backends.Create(backend, HashSpec(type, max: 16));
            var latest = new Dictionary<uint, byte[]>();
            var buf = new byte[map.ValueBufferSize];
            for (uint k = 0; k < 300; k++)
            {
                byte[] value = Bytes.Fill(map.ValueBufferSize, (int)k);
                map.Update(Bytes.U32(k % 40), value);
                latest[k % 40] = value;
                Assert.True(map.TryLookup(Bytes.U32(k % 40), buf));
                Assert.Equal(value, buf);
                var present = Bytes.WalkKeys(map.Backend, 4);
                Assert.InRange(present.Count, 1, 16);
                foreach (byte[] key in present)
                {
                    Assert.True(map.TryLookup(key, buf));
                    Assert.Equal(latest[BinaryPrimitives.ReadUInt32LittleEndian(key)], buf);
                }
            }
        }
    }
}
