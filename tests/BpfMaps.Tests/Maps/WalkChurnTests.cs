using BpfMaps.Tests.Common;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>
/// The get_next_key walk under churn, with the default options: every pass completes, emits no key
/// twice and emits every key that was in the map for the whole pass. The engine runs the same churn
/// in BpfMaps.InProcess.Tests (<c>WalkChurnEngineTests</c>). <c>BPFMAPS_SOAK_ITER=N</c> runs N passes.
/// </summary>
public class WalkChurnTests
{
    [Fact]
    public void Default_dump_completes_under_churn_without_duplicates_or_losses()
    {
        Require();
        using BpfMap map = BpfMap.Create(WalkChurn.Spec);
        ChurnReport report = WalkChurn.Run(map, WalkChurn.Passes(ci: 3), onPass: WalkChurnChecks.CountWalk);
        WalkChurnChecks.AssertConverged(report, "kernel dump");
    }

    [Fact]
    public void Default_drain_completes_under_churn_without_duplicates_or_losses()
    {
        Require();
        using BpfMap map = BpfMap.Create(WalkChurn.Spec);
        ChurnReport report = WalkChurn.Run(map, WalkChurn.Passes(ci: 2), drain: true, onPass: WalkChurnChecks.CountWalk);
        WalkChurnChecks.AssertConverged(report, "kernel drain");
    }

    [Fact]
    public void A_key_reinserted_at_the_head_of_its_bucket_is_not_a_restart()
    {
        // 40 keys in 64 buckets (zero seed): several chains of two or more. Before every third step the
        // key the walk stands on is deleted and inserted again, which moves it to the head of its
        // bucket, so get_next_key goes over keys of that bucket the walk has already emitted.
        using BpfMap map = Hooked((inner, key, call) =>
        {
            if (call % 3 == 0)
            {
                Assert.Equal(0, inner.Delete(key));
                Assert.Equal(0, inner.Update(key, U64(BitConverter.ToUInt32(key) + 1UL), 0));
            }
        }, out GetNextKeyHookBackend backend);

        foreach (RestartPolicy policy in Enum.GetValues<RestartPolicy>())
        {
            using MapEnumerator e = map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey, OnRestart = policy }).GetEnumerator();
            int calls = backend.Calls;
            HashSet<uint> got = Keys(e);
            Assert.Equal(Enumerable.Range(0, 40).Select(i => (uint)i), got.Order());
            Assert.Equal(0, e.Restarts);
            Assert.True(e.Walk!.Reorders > 0, "some re-inserted key must have been behind others of its bucket");
            Assert.True(backend.Calls - calls < 3 * 40, $"{backend.Calls - calls} get_next_key calls for 40 keys");
        }
    }

    [Fact]
    public void A_restart_onto_a_key_the_walk_never_met_costs_a_few_steps()
    {
        // At step 150 of 200 a new key is inserted where it becomes the first key of the map, and the
        // key the walk stands on is deleted: get_next_key starts over and answers with the new key. The
        // walk emits it (it is in the map); the next answer, a key emitted long ago, throws it back, and
        // it goes on from the key before the deleted one, not from the new key.
        uint deleted = uint.MaxValue;
        uint inserted = uint.MaxValue;
        using BpfMap map = Hooked((inner, key, call) =>
        {
            if (call != 150)
            {
                return;
            }

            Span<byte> first = stackalloc byte[4];
            for (uint c = 1000; inserted == uint.MaxValue; c++)
            {
                Assert.True(c < 100_000, "no key lands before the map's first key");
                Assert.Equal(0, inner.Update(U32(c), U64(c + 1), 0));
                if (inner.GetNextKey(ReadOnlySpan<byte>.Empty, first) == 0 && BitConverter.ToUInt32(first) == c)
                {
                    inserted = c;
                }
                else
                {
                    Assert.Equal(0, inner.Delete(U32(c)));
                }
            }

            deleted = BitConverter.ToUInt32(key);
            Assert.Equal(0, inner.Delete(key));
        }, out GetNextKeyHookBackend backend, n: 200, maxEntries: 256);

        using MapEnumerator e = map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey }).GetEnumerator();
        HashSet<uint> got = Keys(e);
        Assert.NotEqual(uint.MaxValue, deleted);
        Assert.Subset(got, Enumerable.Range(0, 200).Select(i => (uint)i).Where(k => k != deleted).ToHashSet());
        Assert.Contains(inserted, got);
        Assert.Equal(1, e.Walk!.Resumes);
        Assert.True(backend.Calls < 200 + 20, $"{backend.Calls} get_next_key calls for 200 keys");
    }

    [Fact]
    public void An_answer_whose_mark_a_bucket_reorder_made_stale_is_followed()
    {
        // A bucket X -> a -> b -> c (newest first). While the walk stands on a, having met X and a, c, b and
        // a are inserted again in that order: the bucket becomes a -> b -> c -> X. The walk goes on
        // a, b, c, and c's successor is now X, met before c. c is still there, so the walk goes back to b,
        // whose successor is c again, and c's is X again: the bucket changed since X was met, and the walk
        // must follow X rather than go round b, c, X for ever.
        BpfMap probe = Hash(maxEntries: 1024, flags: MapFlags.ZeroSeed, name: "t_walk_probe");
        List<uint> bucket;
        using (probe)
        {
            for (uint k = 0; k < 1024; k++)
            {
                probe.Update(U32(k), U64(k + 1UL));
            }

            bucket = Buckets.Groups(probe).First(g => g.Count >= 4).Take(4).ToList();
        }

        uint x = bucket[0], a = bucket[1], b = bucket[2], c = bucket[3];
        bool done = false;
        BpfMap real = Hash(maxEntries: 1024, flags: MapFlags.ZeroSeed, name: "t_walk_stale");
        var others = Enumerable.Range(0, 1024).Select(i => (uint)i).Where(k => !bucket.Contains(k)).Take(200).ToList();
        foreach (uint k in others.Concat([c, b, a, x]))
        {
            real.Update(U32(k), U64(k + 1UL));
        }

        var backend = new GetNextKeyHookBackend(real.Backend, (inner, key, call) =>
        {
            if (!done && BitConverter.ToUInt32(key) == a)
            {
                done = true;
                foreach (uint k in new[] { c, b, a })
                {
                    Assert.Equal(0, inner.Delete(U32(k)));
                    Assert.Equal(0, inner.Update(U32(k), U64(k + 1UL), 0));
                }
            }
        });
        using var map = new BpfMap(backend);
        using MapEnumerator e = map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey }).GetEnumerator();
        HashSet<uint> got = Keys(e);
        Assert.True(done, "the walk must have stood on a");
        Assert.Equal(others.Concat(bucket).ToHashSet(), got);
        Assert.Equal(0, e.Restarts);
        Assert.Equal(1, e.Walk!.Reorders);
        Assert.True(backend.Calls < got.Count + 8, $"{backend.Calls} get_next_key calls for {got.Count} keys");
    }

    [Fact]
    public void Giving_up_says_how_many_keys_were_emitted_and_why()
    {
        // The key the walk stands on is deleted before every fifth step, and only two restarts are allowed.
        using BpfMap map = Hooked((inner, key, call) =>
        {
            if (call % 5 == 0)
            {
                inner.Delete(key);
            }
        }, out _);

        int received = 0;
        using MapEnumerator e = map.Dump(new DumpOptions { Method = DumpMethod.GetNextKey, MaxRestarts = 2, BatchSize = 4 }).GetEnumerator();
        var ex = Assert.Throws<MapIterationRestartedException>(() =>
        {
            while (e.MoveNext())
            {
                received++;
            }
        });

        Assert.Equal(3, ex.Restarts);
        Assert.Equal(received, ex.KeysEmitted);
        Assert.True(received > 0);
        Assert.Contains($"gave up after 3 restarts (limit 2): {received} keys emitted", ex.Message);
        Assert.Contains("the map changed faster than it could be walked", ex.Message);
        Assert.Contains("batch commands (kernel 5.6+", ex.Message);
        Assert.Throws<MapIterationRestartedException>(() => e.MoveNext());
    }

    private static BpfMap Hooked(GetNextKeyHook hook, out GetNextKeyHookBackend backend, int n = 40, int maxEntries = 64)
    {
        BpfMap real = Hash(maxEntries: maxEntries, flags: MapFlags.ZeroSeed, name: "t_walk_hook");
        for (uint k = 0; k < n; k++)
        {
            real.Update(U32(k), U64(k + 1UL));
        }

        backend = new GetNextKeyHookBackend(real.Backend, hook);
        return new BpfMap(backend);
    }

    private static HashSet<uint> Keys(MapEnumerator e)
    {
        var got = new HashSet<uint>();
        while (e.MoveNext())
        {
            uint k = BitConverter.ToUInt32(e.Current.Key);
            Assert.True(got.Add(k), $"key {k} emitted twice");
            Assert.Equal(k + 1UL, BitConverter.ToUInt64(e.Current.Value));
        }

        Assert.True(e.UsedGetNextKey);
        return got;
    }
}
