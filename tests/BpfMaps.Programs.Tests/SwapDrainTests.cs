using System.Buffers.Binary;
using BpfMaps.Measurements;

namespace BpfMaps.Programs.Tests;

public class SwapDrainTests : KernelTest
{
    [Fact]
    public void Drain_swaps_and_returns_everything_counted_so_far()
    {
        using SwapDrainMap map = SwapDrainMap.Create(CounterSpec());
        using BpfProgram p = CounterProgram.Load(map, new CounterProgramOptions { KeyCount = 32 });
        BpfMap first = map.Active;
        p.TestRun(CounterProgram.CreatePacket(), 3000);
        var seen = new Dictionary<uint, ulong>();
        CounterDrainPass pass = map.DrainCounters((k, v) => seen[BinaryPrimitives.ReadUInt32LittleEndian(k)] = v);
        Assert.Equal(3000ul, pass.Total);
        Assert.Equal(seen.Count, pass.Entries);
        Assert.Equal(3000ul, seen.Values.Aggregate(0ul, (a, b) => a + b));
        Assert.NotSame(first, map.Active);
        Assert.Same(first, map.Idle);
        Assert.Equal(0, map.Idle.CountEntries());
        Assert.Equal(1, map.Swaps);

        p.TestRun(CounterProgram.CreatePacket(), 100);
        Assert.Equal(100ul, SumAll(map.Active));
        Assert.Equal(100ul, map.DrainCounters().Total);
        Assert.Same(first, map.Active);
        Assert.Equal(0ul, map.PeekTotals().Total);
    }

    [Fact]
    public void Drain_streams_map_entries_of_the_retired_map()
    {
        using SwapDrainMap map = SwapDrainMap.Create(CounterSpec());
        using BpfProgram p = CounterProgram.Load(map, new CounterProgramOptions { KeySource = CounterKeySource.PacketData });
        p.TestRun(CounterProgram.CreatePacket(5), 11);
        int n = 0;
        foreach (MapEntry e in map.Drain())
        {
            Assert.Equal(5u, BitConverter.ToUInt32(e.Key));
            Assert.Equal(11ul, BitConverter.ToUInt64(e.Value));
            n++;
        }

        Assert.Equal(1, n);
    }

    [Theory]
    [InlineData(MapType.PerCpuHash)]
    [InlineData(MapType.LruPerCpuHash)]
    [InlineData(MapType.PerCpuArray)]
    [InlineData(MapType.Array)]
    public void Inner_map_kinds_drain_exactly(MapType type)
    {
        using SwapDrainMap map = SwapDrainMap.Create(CounterSpec(type, 64), "t_slots");
        using BpfProgram p = CounterProgram.Load(map, new CounterProgramOptions { KeyCount = 64, Increment = 5 });
        p.TestRun(CounterProgram.CreatePacket(), 2000);
        Assert.Equal(10_000ul, map.DrainCounters().Total);
        p.TestRun(CounterProgram.CreatePacket(), 10);
        Assert.Equal(50ul, map.DrainCounters().Total);
        Assert.Equal(0ul, map.PeekTotals().Total);
    }

    [Fact]
    public void Pinned_outer_map_reopens_and_keeps_counting()
    {
        string dir = "/sys/fs/bpf";
        if (!Directory.Exists(dir) || !File.ReadAllText("/proc/mounts").Contains(" /sys/fs/bpf bpf ", StringComparison.Ordinal))
        {
            Assert.Skip("bpffs is not mounted at /sys/fs/bpf (scripts/setup.sh mounts it)");
        }

        string path = Path.Combine(dir, $"bpfmaps_test_swap_{Environment.ProcessId}");
        using SwapDrainMap map = SwapDrainMap.Create(CounterSpec(MapType.PerCpuHash, 64), "t_pinned");
        using BpfProgram writer = CounterProgram.Load(map, new CounterProgramOptions { KeyCount = 8 });
        map.Pin(path);
        try
        {
            writer.TestRun(CounterProgram.CreatePacket(), 400);
            using SwapDrainMap reopened = SwapDrainMap.OpenPinned(path);
            Assert.Equal(map.Active.Id, reopened.Active.Id);
            Assert.Equal(MapType.PerCpuHash, reopened.InnerType);
            Assert.NotEqual(map.Idle.Id, reopened.Idle.Id);

            // A program loaded against the reopened outer map writes the same inner maps.
            using BpfProgram second = CounterProgram.Load(reopened, new CounterProgramOptions { KeyCount = 8 });
            second.TestRun(CounterProgram.CreatePacket(), 100);
            Assert.Equal(500ul, reopened.DrainCounters().Total);

            writer.TestRun(CounterProgram.CreatePacket(), 7);
            Assert.Equal(7ul, SumAll(reopened.Active));
            Assert.Equal(7ul, reopened.DrainCounters().Total);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_second_drainer_is_detected_instead_of_retiring_a_live_map()
    {
        string path = $"/sys/fs/bpf/bpfmaps_test_two_{Environment.ProcessId}";
        if (!Directory.Exists("/sys/fs/bpf"))
        {
            Assert.Skip("no /sys/fs/bpf");
        }

        using SwapDrainMap first = SwapDrainMap.Create(CounterSpec());
        first.Pin(path);
        try
        {
            using SwapDrainMap second = SwapDrainMap.OpenPinned(path);
            second.DrainCounters();
            var e = Assert.Throws<InvalidOperationException>(() => first.Swap());
            Assert.Contains("another drainer", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Open_pinned_refuses_what_is_not_a_map_in_map()
    {
        string path = $"/sys/fs/bpf/bpfmaps_test_plain_{Environment.ProcessId}";
        if (!Directory.Exists("/sys/fs/bpf"))
        {
            Assert.Skip("no /sys/fs/bpf");
        }

        using BpfMap plain = CreateCounters();
        plain.Pin(path);
        try
        {
            Assert.Throws<InvalidOperationException>(() => SwapDrainMap.OpenPinned(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void From_maps_rejects_mismatched_inner_maps()
    {
        using BpfMap a = CreateCounters(MapType.Hash, 16);
        using BpfMap b = CreateCounters(MapType.Hash, 32);
        using BpfMap outer = BpfMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = a });
        Assert.Throws<ArgumentException>(() => SwapDrainMap.FromMaps(outer, a, b));
        Assert.Throws<ArgumentException>(() => SwapDrainMap.FromMaps(outer, a, a));
        Assert.Throws<ArgumentException>(() => SwapDrainMap.FromMaps(a, a, b));
        Assert.Throws<ArgumentException>(() => SwapDrainMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = a }));
    }

    /// <summary>The property the type exists for: under two live writers, a swap drain loses nothing.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Swap_drain_loses_nothing_under_two_live_writers(bool perCpu)
    {
        DrainRaceMethodResult r = DrainRace.RunMethod(DrainMethod.SwapDrain, new DrainRaceOptions
        {
            Writers = 2,
            PerCpu = perCpu,
            IncrementsPerMethod = 5_000_000,
            DurationPerMethod = TimeSpan.FromSeconds(60), // a cap, so a slow machine fails instead of hanging
            RepeatPerRun = 2000,
        }, TestContext.Current.CancellationToken);
        Assert.True(r.Produced >= 5_000_000, $"produced {r.Produced}");
        // Writers' count (runs x repeat) and the program's own tally agree (an interrupted run would leave only the tally).
        Assert.Equal(r.Produced, r.ProducedByProgram);
        Assert.True(r.Drains >= 2, $"only {r.Drains} drains happened while the writers ran");
        Assert.True(r.Drained > 0);
        Assert.Equal(r.Produced, r.Drained + r.Remaining);
        Assert.Equal(0, r.Lost);
    }
}
