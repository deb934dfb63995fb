using System.Buffers.Binary;
using BpfMaps.InProcess.Engine;
using BpfMaps.Programs;
using BpfMaps.Measurements;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// <see cref="InProcessSwapDrainMap"/>: the kernel swap-drain test (2 writers, at least 5,000,000
/// increments, a drainer in a loop, nothing lost) on the engine's atomic add, plus negative controls
/// that park a writer inside its section so a broken swap fails every time.
/// </summary>
public class InProcessSwapDrainTests
{
    private const int KeyCount = 64;
    private const long IncrementsPerWriter = 2_500_000;

    public static TheoryData<MapType, bool> Variants => new()
    {
        { MapType.Hash, false },
        { MapType.Hash, true },
        { MapType.PerCpuHash, true },
        { MapType.LruHash, false },
        { MapType.Array, true },
        { MapType.PerCpuArray, false },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Two_writers_five_million_increments_lose_nothing(MapType type, bool drainCounters)
    {
        using InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(type));
        long drained = 0, passes = 0;
        using var writersDone = new CancellationTokenSource();
        CancellationToken ct = TestContext.Current.CancellationToken;

        var drainer = Task.Run(() =>
        {
            while (!writersDone.IsCancellationRequested)
            {
                drained += drainCounters ? (long)map.DrainCounters().Total : Sum(map.Drain(), map.Active.Cpus);
                passes++;
            }
        }, ct);
        var writers = Enumerable.Range(0, 2).Select(w => Task.Factory.StartNew(() =>
        {
            var rnd = new Random(w);
            for (long i = 0; i < IncrementsPerWriter; i++)
            {
                map.Add((uint)rnd.Next(KeyCount), 1);
            }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        await Task.WhenAll(writers);
        await writersDone.CancelAsync();
        await drainer;

        long produced = 2 * IncrementsPerWriter;
        long remaining = (long)map.PeekTotals().Total;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{type}: produced {produced:N0}, drained {drained:N0} in {passes:N0} passes, remaining {remaining:N0}, writers waited for {map.WaitedWriters:N0}");
        Assert.True(passes > 1 && drained > 0, $"the drainer never overlapped the writers ({passes} passes, {drained} drained)");
        Assert.Equal(0, produced - (drained + remaining));
        Assert.Equal(produced, drained + remaining);
        Assert.Equal(passes, map.Swaps);
    }

    [Fact]
    public void Broken_swap_loses_the_increment_of_a_parked_writer()
    {
        // An array's retired map is dumped and zeroed before it returns to service, so an add that
        // lands in it after the swap is gone for good: exactly the loss the wait exists to prevent.
        using InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(MapType.Array));
        map.SkipWriterWaitForTesting = true;
        long drained = RunParkedWriter(map, swapReturnsWhileParked: true);
        drained += (long)map.DrainCounters().Total;
        long remaining = (long)map.PeekTotals().Total;

        Assert.Equal(1, 1 - (drained + remaining));
    }

    [Fact]
    public void Swap_waits_for_a_parked_writer_and_loses_nothing()
    {
        using InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(MapType.Array));
        long drained = RunParkedWriter(map, swapReturnsWhileParked: false);
        drained += (long)map.DrainCounters().Total;
        long remaining = (long)map.PeekTotals().Total;

        Assert.Equal(1, drained + remaining);
        Assert.Equal(1, map.WaitedWriters);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Retired_hash_map_stays_empty_only_with_the_wait(bool skipWait)
    {
        // A hash map would carry a late add into a later pass, so the harness checks the contract
        // itself: after the drain, nothing may write the retired map.
        using InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(MapType.Hash));
        map.SkipWriterWaitForTesting = skipWait;
        RunParkedWriter(map, swapReturnsWhileParked: skipWait);

        Assert.Equal(skipWait ? 1 : 0, Sum(map.Idle.Dump(), map.Idle.Cpus));
    }

    [Fact]
    public void Dispose_releases_all_three_maps()
    {
        InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(MapType.PerCpuHash));
        map.Add(7, 3);
        map.DrainCounters();
        map.Add(8, 1);
        uint[] ids = [map.Outer.Id, map.Active.Id, map.Idle.Id];
        Assert.All(ids, id => Assert.NotNull(Release(ObjectTable.Acquire(id))));

        map.Dispose();
        map.Dispose();

        Assert.All(ids, id => Assert.Null(ObjectTable.Acquire(id)));
        Assert.Throws<ObjectDisposedException>(() => map.Add(1, 1));
        Assert.Throws<ObjectDisposedException>(() => map.Swap());
    }

    [Fact]
    public void Outer_slot_follows_the_active_map()
    {
        using InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(MapType.Hash));
        Span<byte> id = stackalloc byte[4];
        for (int i = 0; i < 3; i++)
        {
            Assert.True(map.Outer.TryLookup([0, 0, 0, 0], id));
            Assert.Equal(map.Active.Id, BinaryPrimitives.ReadUInt32LittleEndian(id));
            map.Add(1, 5);
            Assert.Equal(new CounterDrainPass(1, 5), map.DrainCounters());
        }

        Assert.Equal(3, map.Swaps);
    }

    [Fact]
    public void Misuse_names_sizes()
    {
        Assert.Contains("16 bytes", Assert.Throws<ArgumentException>(() => InProcessSwapDrainMap.Create(Spec(MapType.Hash) with { ValueSize = 16 })).Message);
        using BpfMap inner = InProcessMap.Create(Spec(MapType.Hash));
        Assert.Throws<ArgumentException>(() => InProcessSwapDrainMap.Create(new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = inner }));
        using InProcessSwapDrainMap map = InProcessSwapDrainMap.Create(Spec(MapType.Hash) with { KeySize = 8 });
        Assert.Contains("expected key_size 8", Assert.Throws<ArgumentException>(() => map.Add(1, 1)).Message);
    }

    [Fact]
    public void In_process_drain_race_reconciles_every_method()
    {
        var options = new DrainRaceOptions
        {
            Writers = 2,
            IncrementsPerMethod = 300_000,
            DurationPerMethod = TimeSpan.FromSeconds(5),
            KeyCount = 16,
            RepeatPerRun = 100,
        };
        DrainRaceResult result = DrainRace.Run(options, DrainRaceTargetFactory.InProcess, progress: null, TestContext.Current.CancellationToken);

        Assert.Equal(4, result.Methods.Count);
        foreach (DrainRaceMethodResult r in result.Methods)
        {
            Assert.True(r.Produced >= options.IncrementsPerMethod && r.Lost >= 0, $"{r.MethodName}: produced {r.Produced}, counted {r.Counted}");
            if (r.Method != DrainMethod.GetNextKeyLookupDelete)
            {
                // The engine's add and its lookup-and-delete share the bucket lock; swap drain waits.
                Assert.Equal(0, r.Lost);
            }
        }

        Assert.Equal("swap drain (in-process)", result.Methods[^1].MethodName);
    }

    /// <summary>
    /// Parks one writer inside its section holding the active map, drains while it is parked, then lets
    /// it add 1. With the wait, the swap cannot return until the writer is released.
    /// </summary>
    private static long RunParkedWriter(InProcessSwapDrainMap map, bool swapReturnsWhileParked)
    {
        using var parked = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var writer = new Thread(() => map.AddCore([3, 0, 0, 0], 1, () =>
        {
            parked.Set();
            release.Wait();
        }));
        writer.Start();
        Assert.True(parked.Wait(TimeSpan.FromSeconds(10)));

        // Drain(), not DrainCounters(): a retired array is zeroed only at the next swap, after the late add.
        var drain = Task.Run(() => Sum(map.Drain(), map.Active.Cpus));
        if (swapReturnsWhileParked)
        {
            Assert.True(drain.Wait(TimeSpan.FromSeconds(10)), "the broken swap should not wait");
        }
        else
        {
            // A correct swap never returns while the writer is parked; 200 ms only bounds how long we look.
            Assert.False(drain.Wait(TimeSpan.FromMilliseconds(200)), "the swap returned while a writer still held the old map");
        }

        release.Set();
        writer.Join();
        return drain.GetAwaiter().GetResult();
    }

    private static MapSpec Spec(MapType type) => new()
    {
        Type = type,
        KeySize = 4,
        ValueSize = 8,
        MaxEntries = type.IsArray() ? KeyCount : KeyCount * 4,
    };

    private static MapCore? Release(MapCore? core)
    {
        core?.Release();
        return core;
    }

    private static long Sum(MapEntries entries, int cpus)
    {
        long sum = 0;
        foreach (MapEntry e in entries)
        {
            for (int cpu = 0; cpu < cpus; cpu++)
            {
                sum += BinaryPrimitives.ReadInt64LittleEndian(e.Value.Slice(cpu * 8, 8));
            }
        }

        return sum;
    }
}
