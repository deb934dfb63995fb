using BpfMaps.Tests.Infrastructure;

namespace BpfMaps.Tests.Maps;

/// <summary>
/// Our own tests of the scenarios the kernel selftests cover for htab, array, lpm_trie and
/// map-in-map batch ops: every batch size 1..9 over 10 entries, count 0, the empty map, chunked
/// delete, and the map empty afterwards. One suite runs over every map type, on the kernel and on the
/// in-process engine (<see cref="Backends"/>), with the kernel's behaviour as the expectation.
/// </summary>
public class SelftestBatchTests
{
    private const int N = 10;

    /// <summary>Walks with batch size <paramref name="size"/>, growing only the call that hits ENOSPC.</summary>
    private static Dictionary<int, byte[]> Walk(MapKind k, int size, bool delete)
    {
        var map = k.Map;
        var cursor = map.CreateCursor();
        var got = new Dictionary<int, byte[]>();
        int calls = 0;
        while (true)
        {
            Assert.True(++calls < 100, "the walk must end");
            int cap = size;
            BatchResult r;
            while (true)
            {
                byte[] keys = new byte[cap * map.KeySize], values = new byte[cap * map.ValueBufferSize];
                try
                {
                    r = delete ? map.LookupAndDeleteBatch(cursor, keys, values) : map.LookupBatch(cursor, keys, values);
                }
                catch (BpfException e) when (e.Errno == Errno.ENOSPC && map.Type.IsHashTable())
                {
                    cap++;
                    continue;
                }

                Assert.InRange(r.Count, 0, cap);
                for (int i = 0; i < r.Count; i++)
                {
                    int idx = k.KeyIndex(keys.AsSpan(i * map.KeySize, map.KeySize));
                    Assert.True(got.TryAdd(idx, values.AsSpan(i * map.ValueBufferSize, map.ValueBufferSize).ToArray()), $"key {idx} returned twice");
                }

                break;
            }

            if (r.Exhausted)
            {
                return got;
            }
        }
    }

    [Theory]
    [MemberData(nameof(MapKind.AllData), MemberType = typeof(MapKind))]
    public void Lookup_batch_every_size_from_1_to_9(Backend backend, string type)
    {
        using var k = MapKind.Create(backend, type);
        k.Fill(N);
        for (int size = 1; size <= 9; size++)
        {
            var got = Walk(k, size, delete: false);
            Assert.Equal(Enumerable.Range(0, N), got.Keys.Order());
            foreach (var (i, v) in got)
            {
                k.CheckValue(i, v);
            }
        }
    }

    [Theory]
    [MemberData(nameof(MapKind.AllData), MemberType = typeof(MapKind))]
    public void Lookup_and_delete_batch_every_size_leaves_the_map_empty(Backend backend, string type)
    {
        using var k = MapKind.Create(backend, type);
        k.Fill(N);
        if (!k.HasLookupAndDeleteBatch)
        {
            var e = Assert.Throws<BpfNotSupportedException>(() => k.Map.LookupAndDeleteBatch(k.Map.CreateCursor(), new byte[k.Map.KeySize], new byte[k.Map.ValueBufferSize]));
            Assert.Equal(Errno.ENOTSUPP, e.Errno);
            Assert.Contains(k.Type.ToString(), e.Message);
            return;
        }

        for (int size = 1; size <= 9; size++)
        {
            k.Fill(N);
            var got = Walk(k, size, delete: true);
            Assert.Equal(Enumerable.Range(0, N), got.Keys.Order());
            foreach (var (i, v) in got)
            {
                k.CheckValue(i, v);
            }

            Assert.Equal(0, k.Map.CountEntries());
        }
    }

    [Theory]
    [MemberData(nameof(MapKind.AllData), MemberType = typeof(MapKind))]
    public void Chunked_delete_batch_leaves_the_map_empty(Backend backend, string type)
    {
        using var k = MapKind.Create(backend, type);
        k.Fill(N);
        if (!k.CanDelete)
        {
            var e = Assert.Throws<BpfNotSupportedException>(() => k.Map.DeleteBatch(k.Key(0)));
            Assert.Contains($"BPF_MAP_DELETE_BATCH on {k.Type}", e.Message);
            Assert.True(k.Map.TryLookup(k.Key(0), new byte[k.Map.ValueBufferSize]), "a refused delete batch leaves the slot");
            return;
        }

        for (int step = 1; step <= 9; step++)
        {
            k.Fill(N);
            for (int start = 0; start < N; start += step)
            {
                int n = Math.Min(step, N - start);
                byte[] keys = Enumerable.Range(start, n).SelectMany(k.Key).ToArray();
                Assert.Equal(n, k.Map.DeleteBatch(keys, n));
            }

            Assert.Equal(0, k.Map.CountEntries());
            Assert.False(k.Map.TryLookup(k.Key(0), new byte[k.Map.ValueBufferSize]));
        }
    }

    [Theory]
    [MemberData(nameof(MapKind.AllData), MemberType = typeof(MapKind))]
    public void Count_zero_and_the_empty_map(Backend backend, string type)
    {
        using var k = MapKind.Create(backend, type);
        var map = k.Map;
        Assert.Equal(new BatchResult(0, false), map.LookupBatch(map.CreateCursor(), Span<byte>.Empty, Span<byte>.Empty));

        if (map.Type.IsArray())
        {
            if (map.Type == MapType.ArrayOfMaps)
            {
                // Empty slots of an array of maps are skipped by the batch walk: nothing to return.
                var r = map.LookupBatch(map.CreateCursor(), new byte[N * 4], new byte[N * 4]);
                Assert.Equal(new BatchResult(0, true), r);
            }
            else
            {
                // Array slots always exist: a fresh array dumps N zeroed values, in index order.
                byte[] keys = new byte[N * 4], values = new byte[N * map.ValueBufferSize];
                Array.Fill(values, (byte)0xAA);
                var r = map.LookupBatch(map.CreateCursor(), keys, values);
                Assert.Equal(new BatchResult(N, false), r);
                Assert.Equal(Enumerable.Range(0, N), Enumerable.Range(0, N).Select(i => k.KeyIndex(keys.AsSpan(i * 4, 4))));
                Assert.All(values, b => Assert.Equal(0, b));
            }

            return;
        }

        var empty = map.LookupBatch(map.CreateCursor(), new byte[N * map.KeySize], new byte[N * map.ValueBufferSize]);
        Assert.Equal(new BatchResult(0, true), empty);
        Assert.Equal(0, map.CountEntries());
    }

    [Fact]
    public void The_engine_refuses_the_kinds_it_does_not_implement()
    {
        // lpm_trie runs on the kernel only in this suite: the engine implements the hash and array families,
        // the map-in-map types and the ring buffers (docs/performance.md, "Types"), and refuses the rest at
        // creation, before anything could be mistaken for a map.
        foreach (string name in MapKind.KernelOnly)
        {
            var e = Assert.Throws<NotSupportedException>(() => Backends.Create(Backend.InProcess, MapKind.SpecOf(name)));
            Assert.Contains($"not {name}", e.Message);
        }
    }
}
