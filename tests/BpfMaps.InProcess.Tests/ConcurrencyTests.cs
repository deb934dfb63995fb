using System.Buffers.Binary;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess.Tests;

/// <summary>The engine under many threads: nothing lost, nothing torn, never over max_entries.</summary>
public class ConcurrencyTests
{
    private const int Writers = 4;

    [Theory]
    [InlineData(MapType.Hash)]
    [InlineData(MapType.PerCpuHash)]
    [InlineData(MapType.LruHash)]
    public async Task AtomicAdd_racing_drain_loses_nothing(MapType type)
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = 512, Flags = MapFlags.ZeroSeed });
        const int perWriter = 150_000;
        long produced = 0;
        long drained = 0;
        using var done = new CancellationTokenSource();

        var drainer = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                drained += Sum(map, drain: true);
            }
        }, TestContext.Current.CancellationToken);
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            var rnd = new Random(w);
            Span<byte> key = stackalloc byte[4];
            long mine = 0;
            for (int i = 0; i < perWriter; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(key, (uint)rnd.Next(300));
                ulong delta = (ulong)rnd.Next(1, 5);
                InProcessMap.AtomicAdd(map, key, delta);
                mine += (long)delta;
            }

            Interlocked.Add(ref produced, mine);
        }, TestContext.Current.CancellationToken)).ToArray();

        await Task.WhenAll(writers);
        await done.CancelAsync();
        await drainer;
        long remaining = Sum(map, drain: false);
        Assert.True(drained > 0, "the drainer never overlapped the writers");
        Assert.Equal(produced, drained + remaining);
    }

    private static long Sum(BpfMap map, bool drain)
    {
        long sum = 0;
        foreach (MapEntry e in drain ? map.Drain() : map.Dump())
        {
            for (int cpu = 0; cpu < map.Cpus; cpu++)
            {
                sum += (long)BinaryPrimitives.ReadUInt64LittleEndian(e.Value.Slice(cpu * map.ValueStride, 8));
            }
        }

        return sum;
    }

    [Fact]
    public void Typed_AtomicAdd_creates_and_increments()
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 2 });
        var typed = new BpfMap<uint, ulong>(map);
        typed.AtomicAdd(7u, 5);
        typed.AtomicAdd(7u, 6);
        typed.AtomicAdd(8u, 1);
        Assert.True(typed.TryLookup(7, out ulong v));
        Assert.Equal(11UL, v);
        Assert.Equal(Errno.E2BIG, Assert.Throws<BpfException>(() => typed.AtomicAdd(9u, 1)).Errno);

        using BpfMap array = InProcessMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 2 });
        InProcessMap.AtomicAdd(array, Bytes.U32(1), 3);
        InProcessMap.AtomicAdd(array, Bytes.U32(1), 4);
        var buf = new byte[4];
        Assert.True(array.TryLookup(Bytes.U32(1), buf));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(buf));
        Assert.Equal(Errno.E2BIG, Assert.Throws<BpfException>(() => InProcessMap.AtomicAdd(array, Bytes.U32(2), 1)).Errno);

        using BpfMap wide = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 16, MaxEntries = 2 });
        Assert.Throws<ArgumentException>(() => InProcessMap.AtomicAdd(wide, Bytes.U32(1), 1));
    }

    [Theory]
    [InlineData(MapType.Hash)]
    [InlineData(MapType.PerCpuHash)]
    [InlineData(MapType.Array)]
    public async Task Readers_never_see_torn_values(MapType type)
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 64, MaxEntries = 8 });
        using var done = new CancellationTokenSource();
        int torn = 0;
        long reads = 0;
        var writer = Task.Run(() =>
        {
            var value = new byte[map.ValueBufferSize];
            for (ulong i = 1; !done.IsCancellationRequested; i++)
            {
                for (int o = 0; o < value.Length; o += 8)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(o), i);
                }

                uint key = (uint)(i % 4);
                map.Update(Bytes.U32(key), value);
                if (type != MapType.Array && i % 3 == 0)
                {
                    map.Delete(Bytes.U32(key));
                }
            }
        }, TestContext.Current.CancellationToken);
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var value = new byte[map.ValueBufferSize];
            var keys = new byte[8 * 4];
            var values = new byte[8 * map.ValueBufferSize];
            var cursor = map.CreateCursor();
            var deadline = DateTime.UtcNow.AddMilliseconds(700);
            while (DateTime.UtcNow < deadline)
            {
                for (uint k = 0; k < 4; k++)
                {
                    if (map.TryLookup(Bytes.U32(k), value))
                    {
                        Interlocked.Increment(ref reads);
                        if (!Uniform(value))
                        {
                            Interlocked.Increment(ref torn);
                        }
                    }
                }

                cursor.Reset();
                int n = 8;
                if (map.LookupBatchOrErrno(false, cursor, keys, values, ref n) is 0 or Errno.ENOENT)
                {
                    for (int i = 0; i < n; i++)
                    {
                        if (!Uniform(values.AsSpan(i * map.ValueBufferSize, map.ValueBufferSize)))
                        {
                            Interlocked.Increment(ref torn);
                        }
                    }
                }
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(readers);
        await done.CancelAsync();
        await writer;
        Assert.True(reads > 100, $"only {reads} reads");
        Assert.Equal(0, torn);
    }

    private static bool Uniform(ReadOnlySpan<byte> v)
    {
        ulong first = BinaryPrimitives.ReadUInt64LittleEndian(v);
        for (int o = 8; o < v.Length; o += 8)
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(v[o..]) != first)
            {
                return false;
            }
        }

        return true;
    }

    [Theory]
    [InlineData(MapType.Hash, MapFlags.None)]
    [InlineData(MapType.Hash, MapFlags.NoPrealloc)]
    [InlineData(MapType.PerCpuHash, MapFlags.None)]
    [InlineData(MapType.LruHash, MapFlags.None)]
    [InlineData(MapType.LruPerCpuHash, MapFlags.NoCommonLru)]
    public async Task Churn_keeps_the_table_consistent(MapType type, MapFlags flags)
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = 64, Flags = flags });
        int max = map.MaxEntries;
        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
        {
            var rnd = new Random(w * 31);
            var value = new byte[map.ValueBufferSize];
            var next = new byte[4];
            for (int i = 0; i < 60_000; i++)
            {
                byte[] key = Bytes.U32((uint)rnd.Next(160));
                BinaryPrimitives.WriteUInt32LittleEndian(value, BinaryPrimitives.ReadUInt32LittleEndian(key));
                int err = rnd.Next(10) switch
                {
                    < 5 => map.Backend.Update(key, value, (ulong)rnd.Next(3)),
                    < 8 => map.Backend.Delete(key),
                    8 => map.Backend.LookupAndDelete(key, value, 0),
                    _ => map.Backend.GetNextKey(key, next),
                };
                Assert.True(err is 0 or Errno.ENOENT or Errno.EEXIST or Errno.E2BIG, $"unexpected {Errno.Name(err)}");
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(tasks);

        var keys = Bytes.WalkKeys(map.Backend, 4);
        Assert.InRange(keys.Count, 0, max);
        Assert.Equal(keys.Count, keys.Select(k => Bytes.Hex(k)).Distinct().Count());
        var core = (IHashStats)((InProcessMapBackend)map.Backend).Core!;
        Assert.Equal(keys.Count, core.Count);
        var buf = new byte[map.ValueBufferSize];
        foreach (byte[] k in keys)
        {
            Assert.True(map.TryLookup(k, buf));
            Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(k), BinaryPrimitives.ReadUInt32LittleEndian(buf));
        }

        // Every element not in the table went back to the free list: the map fills to max_entries again.
        for (uint k = 1000; k < 1000 + max; k++)
        {
            map.Backend.Update(Bytes.U32(k), buf, 0);
        }

        Assert.Equal(max, Bytes.WalkKeys(map.Backend, 4).Count);
    }
}
