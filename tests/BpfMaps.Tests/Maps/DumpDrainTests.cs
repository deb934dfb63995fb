using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>
/// Dump and drain, their fallbacks and restart policies, on the kernel and on the in-process engine
/// (<see cref="Backends"/>), with the kernel's behaviour as the expectation for both.
/// </summary>
public class DumpDrainTests
{
    internal static BpfMap Filled(Backend backend, int n, MapType type = MapType.Hash, int maxEntries = 0)
    {
        var map = Hash(backend, maxEntries: maxEntries == 0 ? n : maxEntries, type: type, flags: type.IsHashTable() ? MapFlags.ZeroSeed : MapFlags.None);
        var keys = Enumerable.Range(0, n).SelectMany(i => U32((uint)i)).ToArray();
        var values = Enumerable.Range(0, n).SelectMany(i =>
        {
            byte[] v = new byte[map.ValueBufferSize];
            for (int c = 0; c < map.Cpus; c++)
            {
                BitConverter.GetBytes((ulong)i + 1).CopyTo(v, c * map.ValueStride);
            }

            return v;
        }).ToArray();
        map.UpdateBatch(keys, values);
        return map;
    }

    private static Dictionary<uint, ulong> Collect(MapEntries entries)
    {
        var d = new Dictionary<uint, ulong>();
        foreach (MapEntry e in entries)
        {
            Assert.True(d.TryAdd(BitConverter.ToUInt32(e.Key), BitConverter.ToUInt64(e.Value)), "duplicate key");
        }

        return d;
    }

    public static TheoryData<Backend, MapType, int> EveryEntryCases
        => Backends.With((MapType.Hash, 1000), (MapType.PerCpuHash, 300), (MapType.LruHash, 500), (MapType.Array, 700), (MapType.PerCpuArray, 100));

    [Theory]
    [MemberData(nameof(EveryEntryCases))]
    public void Dump_returns_every_entry_once(Backend backend, MapType type, int n)
    {
        using var map = Filled(backend, n, type);
        var got = Collect(map.Dump());
        Assert.Equal(Enumerable.Range(0, n).Select(i => (uint)i), got.Keys.Order());
        Assert.All(got, kv => Assert.Equal(kv.Key + 1, kv.Value));

        var walked = Collect(map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey }));
        Assert.Equal(got, walked);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dump_grows_the_batch_on_ENOSPC(Backend backend)
    {
        using var map = Filled(backend, 64);
        using var e = map.Dump(new DumpOptions { BatchSize = 1 }).GetEnumerator();
        var got = new Dictionary<uint, ulong>();
        while (e.MoveNext())
        {
            Assert.True(got.TryAdd(BitConverter.ToUInt32(e.Current.Key), BitConverter.ToUInt64(e.Current.Value)), "duplicate key");
        }

        Assert.Equal(Enumerable.Range(0, 64).Select(i => (uint)i), got.Keys.Order());
        Assert.All(got, kv => Assert.Equal(kv.Key + 1, kv.Value));
        Assert.True(e.BatchSize > 1, "a bucket of several keys must have grown the batch");
        Assert.False(e.UsedGetNextKey);
    }

    [Fact]
    public void Dump_and_drain_fall_back_to_get_next_key_where_the_map_type_has_no_batch_op()
    {
        // Kernel only: the engine has the batch commands for every type it implements, and devmap_hash is
        // not one of them (docs/performance.md, "Types"), so it never takes this fallback.
        Require();
        // devmap_hash has get_next_key but no batch commands: the kernel answers ENOTSUPP.
        using var map = BpfMap.Create(new MapSpec { Type = MapType.DevMapHash, KeySize = 4, ValueSize = 4, MaxEntries = 64, Name = "t_devmaphash" });
        for (uint i = 0; i < 20; i++)
        {
            map.Update(U32(i), U32(1)); // ifindex 1: loopback
        }

        Assert.Throws<BpfNotSupportedException>(() => map.LookupBatch(map.CreateCursor(), new byte[16], new byte[16]));
        using (var e = map.Dump().GetEnumerator())
        {
            var keys = new HashSet<uint>();
            while (e.MoveNext())
            {
                Assert.True(keys.Add(BitConverter.ToUInt32(e.Current.Key)));
                Assert.Equal(1u, BitConverter.ToUInt32(e.Current.Value));
            }

            Assert.Equal(Enumerable.Range(0, 20).Select(i => (uint)i), keys.Order());
            Assert.True(e.UsedGetNextKey);
        }

        Assert.Throws<BpfNotSupportedException>(() => Collect(map.Dump(new DumpOptions { Method = DumpMethod.Batch })));

        using (var d = map.Drain().GetEnumerator())
        {
            var drained = new HashSet<uint>();
            while (d.MoveNext())
            {
                Assert.True(drained.Add(BitConverter.ToUInt32(d.Current.Key)), "duplicate key");
                Assert.Equal(1u, BitConverter.ToUInt32(d.Current.Value));
            }

            Assert.Equal(Enumerable.Range(0, 20).Select(i => (uint)i), drained.Order());
            Assert.True(d.UsedGetNextKey);
        }

        Assert.False(map.TryGetNextKey(ReadOnlySpan<byte>.Empty, new byte[4]));
    }

    [Fact]
    public void An_lpm_trie_is_dumped_and_drained_by_get_next_key_with_nested_prefixes()
    {
        // Kernel only: the engine does not implement lpm_trie (docs/performance.md, "Types").
        Require();
        // The trie walks in post-order; the drain asks for a key's successor before it deletes the key,
        // and deleting a prefix can remove the trie's inner nodes around it.
        using var map = BpfMap.Create(new MapSpec { Type = MapType.LpmTrie, KeySize = 8, ValueSize = 8, MaxEntries = 64, Flags = MapFlags.NoPrealloc, Name = "t_lpm_walk" });
        var keys = new List<(uint Prefix, uint Addr)>();
        for (uint a = 0; a < 4; a++)
        {
            keys.Add((8, 10 + a));                                  // 10+a.0.0.0/8
            for (uint b = 0; b < 3; b++)
            {
                keys.Add((16, (10 + a) | (b << 8)));                // 10+a.b.0.0/16
                keys.Add((24, (10 + a) | (b << 8) | (7u << 16)));    // 10+a.b.7.0/24
            }
        }

        static byte[] Key((uint Prefix, uint Addr) k) => [.. U32(k.Prefix), .. U32(k.Addr)];
        foreach (var k in keys)
        {
            map.Update(Key(k), U64(k.Prefix * 1000UL + k.Addr));
        }

        Dictionary<string, ulong> Walk(MapEntries entries)
        {
            var got = new Dictionary<string, ulong>();
            foreach (MapEntry e in entries)
            {
                Assert.True(got.TryAdd(Convert.ToHexString(e.Key), BitConverter.ToUInt64(e.Value)), "duplicate key");
            }

            return got;
        }

        var expected = keys.ToDictionary(k => Convert.ToHexString(Key(k)), k => k.Prefix * 1000UL + k.Addr);
        Assert.Equal(expected, Walk(map.Dump()));
        Assert.Equal(expected, Walk(map.Drain()));
        Assert.Empty(Walk(map.Dump()));
    }

    private static BpfMap Meddled(Backend on, int n, Func<int, bool> deleteAt, out MeddlingBackend backend)
    {
        var real = Filled(on, n, maxEntries: 64);
        backend = new MeddlingBackend(real.Backend, deleteAt);
        return new BpfMap(backend);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Restart_policy_fail_throws(Backend backend)
    {
        using var map = Meddled(backend, 40, call => call == 10, out _);
        var ex = Assert.Throws<MapIterationRestartedException>(() => Collect(map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey, OnRestart = RestartPolicy.Fail })));
        Assert.Contains("restarted", ex.Message);
    }

    public static TheoryData<Backend, RestartPolicy> ResumingPolicies => Backends.With(RestartPolicy.ResumeFromEarlierKey, RestartPolicy.StartOverSkippingSeen);

    [Theory]
    [MemberData(nameof(ResumingPolicies))]
    public void Restart_policies_finish_without_duplicates_or_losses(Backend on, RestartPolicy policy)
    {
        // Delete the previous key before every 7th step: the kernel restarts each time.
        using var map = Meddled(on, 40, call => call % 7 == 0, out var backend);
        using var e = map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey, OnRestart = policy, BatchSize = 8 }).GetEnumerator();
        var got = new HashSet<uint>();
        while (e.MoveNext())
        {
            Assert.True(got.Add(BitConverter.ToUInt32(e.Current.Key)), "no key is emitted twice");
        }

        Assert.True(e.Restarts > 0, "the meddling must have caused restarts");
        Assert.NotEmpty(backend.Deleted);

        // Every key still in the map at the end, and never deleted, was emitted.
        var remaining = Enumerable.Range(0, 40).Select(i => (uint)i).Except(backend.Deleted);
        Assert.Subset(got, remaining.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Resume_needs_fewer_steps_than_starting_over(Backend backend)
    {
        int Steps(RestartPolicy p)
        {
            int calls = 0;
            using var map = Meddled(backend, 60, call => { calls++; return call == 30; }, out _);
            foreach (var entry in map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey, OnRestart = p }))
            {
                _ = entry;
            }

            return calls;
        }

        Assert.True(Steps(RestartPolicy.ResumeFromEarlierKey) < Steps(RestartPolicy.StartOverSkippingSeen));
    }

    public static TheoryData<Backend, RestartPolicy> EveryPolicy => Backends.With(RestartPolicy.Fail, RestartPolicy.ResumeFromEarlierKey, RestartPolicy.StartOverSkippingSeen);

    [Theory]
    [MemberData(nameof(EveryPolicy))]
    public void Concurrent_deleter_never_causes_duplicates_or_endless_loops(Backend backend, RestartPolicy policy)
    {
        using var map = Filled(backend, 2000, maxEntries: 4096);
        bool stop = false;
        var deleter = new Thread(() =>
        {
            var rnd = new Random(1);
            byte[] v = U64(1);
            while (!Volatile.Read(ref stop))
            {
                uint k = (uint)rnd.Next(2000);
                map.Delete(U32(k));
                map.UpdateOrErrno(U32(k), v);
            }
        });
        deleter.Start();

        int restarts = 0, passes = 0, aborted = 0;
        try
        {
            for (int pass = 0; pass < 20; pass++)
            {
                var seen = new HashSet<uint>();
                using var e = map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey, OnRestart = policy, MaxRestarts = 100_000 }).GetEnumerator();
                try
                {
                    while (e.MoveNext())
                    {
                        Assert.True(seen.Add(BitConverter.ToUInt32(e.Current.Key)), "duplicate key in one pass");
                    }

                    passes++;
                }
                catch (MapIterationRestartedException) when (policy == RestartPolicy.Fail)
                {
                    aborted++;
                }

                restarts += e.Restarts;
                Assert.True(seen.Count <= 2000);
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            deleter.Join();
        }

        Assert.Equal(20, passes + aborted);
        if (policy != RestartPolicy.Fail)
        {
            Assert.Equal(20, passes);
        }
    }

    public static TheoryData<Backend, MapType> DrainableTypes => Backends.With(MapType.Hash, MapType.PerCpuHash, MapType.LruHash);

    [Theory]
    [MemberData(nameof(DrainableTypes))]
    public void Drain_returns_everything_and_empties_the_map(Backend backend, MapType type)
    {
        using var map = Filled(backend, 500, type);
        var got = Collect(map.Drain(new DumpOptions { BatchSize = 7 }));
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (uint)i), got.Keys.Order());
        Assert.All(got, kv => Assert.Equal(kv.Key + 1, kv.Value));
        Assert.Equal(0, map.CountEntries());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Drain_by_get_next_key_uses_lookup_and_delete_elem(Backend backend)
    {
        using var map = Filled(backend, 100);
        using var e = map.Drain(new DumpOptions { Method = DumpMethod.GetNextKey }).GetEnumerator();
        var got = new Dictionary<uint, ulong>();
        while (e.MoveNext())
        {
            Assert.True(got.TryAdd(BitConverter.ToUInt32(e.Current.Key), BitConverter.ToUInt64(e.Current.Value)), "duplicate key");
        }

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (uint)i), got.Keys.Order());
        Assert.All(got, kv => Assert.Equal(kv.Key + 1, kv.Value));
        Assert.True(e.UsedGetNextKey);
        Assert.Equal(0, map.CountEntries());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Array_drain_is_an_explicit_read_then_zero(Backend backend)
    {
        using var map = Filled(backend, 10, MapType.Array);
        var ex = Assert.Throws<NotSupportedException>(() => map.Drain());
        Assert.Contains("ReadThenZero", ex.Message);

        var got = Collect(map.Drain(new DumpOptions { ArrayDrain = ArrayDrainMode.ReadThenZero, BatchSize = 3 }));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (uint)i), got.Keys.Order());
        Assert.All(got, kv => Assert.Equal(kv.Key + 1, kv.Value));

        // The slots stay (an array cannot lose them), each zeroed.
        var after = Collect(map.Dump());
        Assert.Equal(got.Keys.Order(), after.Keys.Order());
        Assert.All(after, kv => Assert.Equal(0UL, kv.Value));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Array_of_maps_drained_with_read_then_zero_empties_the_slots(Backend backend)
    {
        using var template = Backends.Create(backend, new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "t_aom_in" });
        using var outer = Backends.Create(backend, new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = template, Name = "t_aom" });
        using var a = Backends.Create(backend, new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "t_aom_a" });
        using var b = Backends.Create(backend, new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "t_aom_b" });
        outer.SetInnerMap(U32(0), a);
        outer.SetInnerMap(U32(2), b);

        var ids = new List<uint>();
        foreach (MapEntry e in outer.Drain(new DumpOptions { ArrayDrain = ArrayDrainMode.ReadThenZero }))
        {
            ids.Add(BitConverter.ToUInt32(e.Value));
        }

        // Emptied by deletes: a zeroing update would name descriptor 0 and fail with EINVAL.
        Assert.Equal([a.Id, b.Id], ids.Order());
        Assert.Equal(0, outer.CountEntries());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Typed_dump_and_drain(Backend backend)
    {
        using var map = Filled(backend, 100);
        var typed = new BpfMap<uint, ulong>(map);
        var seen = new Dictionary<uint, ulong>();
        foreach (var (k, v) in typed.Dump())
        {
            seen.Add(k, v);
        }

        Assert.Equal(100, seen.Count);
        Assert.All(seen, kv => Assert.Equal(kv.Key + 1, kv.Value));
        var drained = new Dictionary<uint, ulong>();
        foreach (var (k, v) in typed.Drain())
        {
            drained.Add(k, v);
        }

        Assert.Equal(seen, drained);
        Assert.Equal(0, map.CountEntries());
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Steady_state_dump_allocates_nothing_per_entry(Backend backend)
    {
        using var small = Filled(backend, 1_000, maxEntries: 50_000);
        using var big = Filled(backend, 50_000);

        static long Allocated(BpfMap m)
        {
            ulong sum = 0;
            foreach (MapEntry e in m.Dump())
            {
                sum += e.Value[0];
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (MapEntry e in m.Dump())
            {
                sum += e.Value[0];
            }

            GC.KeepAlive(sum);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        long a = Allocated(small);
        long b = Allocated(big);
        // 49,000 more entries may not cost more than a few hundred bytes more (a fixed per-dump cost).
        Assert.True(b - a < 1024, $"1k entries allocated {a} B, 50k entries {b} B");
    }
}

/// <summary>Tests that count this thread's allocated bytes run alone, after the parallel ones: other tests' allocations trigger collections that add to the count.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationCollection;

/// <summary>The get_next_key walk's steady state allocates nothing per entry.</summary>
[Collection(nameof(AllocationTests))]
public class AllocationTests
{
    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Steady_state_walk_allocates_nothing_per_entry(Backend backend)
    {
        // The get_next_key walk keeps what it met in pooled storage: past the first pass (which fills
        // the pool), 1k and 20k entries cost the same fixed per-pass bytes, for a dump and for a drain.
        using var small = DumpDrainTests.Filled(backend, 1_000, maxEntries: 20_000);
        using var big = DumpDrainTests.Filled(backend, 20_000);
        var walk = new DumpOptions { Method = DumpMethod.GetNextKey };

        static long Allocated(BpfMap m, DumpOptions options, bool drain)
        {
            // The first pass fills the pool; the second is measured.
            if (drain)
            {
                Refill(m);
            }

            Pass(m, options, drain);
            return ThreadAllocation.Measure(() => Pass(m, options, drain), drain ? () => Refill(m) : null);
        }

        static void Pass(BpfMap m, DumpOptions options, bool drain)
        {
            ulong sum = 0;
            foreach (MapEntry e in drain ? m.Drain(options) : m.Dump(options))
            {
                sum += e.Value[0];
            }

            GC.KeepAlive(sum);
        }

        static void Refill(BpfMap m)
        {
            Span<byte> key = stackalloc byte[4];
            Span<byte> value = stackalloc byte[8];
            for (uint i = 0; i < (uint)m.MaxEntries && i < 20_000; i++)
            {
                BitConverter.TryWriteBytes(key, i);
                BitConverter.TryWriteBytes(value, i + 1UL);
                m.Update(key, value);
            }
        }

        foreach (bool drain in new[] { false, true })
        {
            long a = Allocated(small, walk, drain);
            long b = Allocated(big, walk, drain);
            TestContext.Current.TestOutputHelper?.WriteLine($"{(drain ? "drain" : "dump")}: 1k entries {a} B, 20k entries {b} B");
            Assert.True(b - a < 1024, $"{(drain ? "drain" : "dump")}: 1k entries allocated {a} B, 20k entries {b} B");
        }
    }
}
