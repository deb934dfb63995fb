namespace BpfMaps.Programs.Tests;

public class CounterProgramTests : KernelTest
{
    [Theory]
    [InlineData(MapType.Hash, ProgramType.Xdp)]
    [InlineData(MapType.PerCpuHash, ProgramType.Xdp)]
    [InlineData(MapType.LruHash, ProgramType.SchedCls)]
    [InlineData(MapType.LruPerCpuHash, ProgramType.SocketFilter)]
    [InlineData(MapType.Array, ProgramType.Xdp)]
    [InlineData(MapType.PerCpuArray, ProgramType.Xdp)]
    public void Random_keys_sum_to_repeat_times_increment(MapType type, ProgramType programType)
    {
        using BpfMap counters = CreateCounters(type, 64);
        var options = new CounterProgramOptions { KeyCount = 16, Increment = 3, ProgramType = programType };
        using BpfProgram p = CounterProgram.Load(counters, options);
        TestRunResult r = p.TestRun(CounterProgram.CreatePacket(), repeat: 10_000);
        Assert.Equal(options.ReturnValue, r.ReturnValue);
        Assert.Equal(30_000ul, SumAll(counters));
        int used = 0;
        foreach (MapEntry e in counters.Dump())
        {
            bool counted = false;
            for (int cpu = 0; cpu < counters.Cpus; cpu++)
            {
                counted |= BitConverter.ToUInt64(e.Value.Slice(cpu * 8, 8)) != 0;
            }

            if (counted)
            {
                // Arrays list every index; only indexes below KeyCount may have counted.
                Assert.InRange(BitConverter.ToUInt32(e.Key), 0u, 15u);
                used++;
            }
        }

        Assert.InRange(used, 8, 16);
    }

    [Theory]
    [InlineData(ProgramType.Xdp)]
    [InlineData(ProgramType.SchedCls)]
    public void Packet_key_counts_that_key_exactly(ProgramType programType)
    {
        using BpfMap counters = CreateCounters();
        using BpfProgram p = CounterProgram.Load(counters, new CounterProgramOptions { KeySource = CounterKeySource.PacketData, ProgramType = programType });
        p.TestRun(CounterProgram.CreatePacket(42), repeat: 777);
        p.TestRun(CounterProgram.CreatePacket(7), repeat: 5);
        Assert.Equal(777ul, ValueOf(counters, 42));
        Assert.Equal(5ul, ValueOf(counters, 7));
        Assert.Equal(782ul, SumAll(counters));
    }

    [Fact]
    public void Tally_counts_every_run()
    {
        using BpfMap counters = CreateCounters();
        using BpfMap tally = BpfMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        using BpfProgram p = CounterProgram.Load(counters, new CounterProgramOptions { Tally = tally, Increment = 2 });
        p.TestRun(CounterProgram.CreatePacket(), 1234);
        Assert.Equal(2468ul, ValueOf(tally, 0));
        Assert.Equal(2468ul, SumAll(counters));
    }

    [Fact]
    public void Full_map_makes_the_run_report_failure()
    {
        using BpfMap counters = CreateCounters(MapType.Hash, 1);
        using BpfProgram p = CounterProgram.Load(counters, new CounterProgramOptions { KeySource = CounterKeySource.PacketData, ReturnValue = 7, FailureReturnValue = 1 });
        Assert.Equal(7u, p.TestRun(CounterProgram.CreatePacket(1)).ReturnValue);
        Assert.Equal(1u, p.TestRun(CounterProgram.CreatePacket(2)).ReturnValue);
    }

    [Fact]
    public void Through_outer_map_counts_in_the_inner_map()
    {
        using SwapDrainMap map = SwapDrainMap.Create(CounterSpec(MapType.Hash, 128));
        using BpfProgram p = CounterProgram.Load(map, new CounterProgramOptions { KeyCount = 8 });
        p.TestRun(CounterProgram.CreatePacket(), 5000);
        Assert.Equal(5000ul, SumAll(map.Active));
        Assert.Equal(0ul, SumAll(map.Idle));
    }

    [Fact]
    public void Empty_outer_slot_makes_the_run_report_failure()
    {
        using BpfMap template = CreateCounters();
        using BpfMap outer = BpfMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = template });
        using BpfProgram p = CounterProgram.LoadThroughOuter(outer, MapType.Hash, new CounterProgramOptions { FailureReturnValue = 9 });
        Assert.Equal(9u, p.TestRun(CounterProgram.CreatePacket()).ReturnValue);
    }

    [Fact]
    public void Rejects_maps_and_options_that_do_not_fit()
    {
        using BpfMap wide = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 8, ValueSize = 8, MaxEntries = 4 });
        var e = Assert.Throws<ArgumentException>(() => CounterProgram.Assemble(wide));
        Assert.Contains("8-byte keys", e.Message, StringComparison.Ordinal);
        using BpfMap counters = CreateCounters();
        Assert.Throws<ArgumentException>(() => CounterProgram.Assemble(counters, new CounterProgramOptions { KeyCount = 0 }));
        Assert.Throws<ArgumentException>(() => CounterProgram.Assemble(counters, new CounterProgramOptions { Increment = 0 }));
        Assert.Throws<ArgumentException>(() => CounterProgram.Assemble(counters,
            new CounterProgramOptions { KeySource = CounterKeySource.PacketData, ProgramType = ProgramType.SocketFilter }));
        Assert.Throws<ArgumentException>(() => CounterProgram.AssembleThroughOuter(counters, MapType.Hash));
    }
}
