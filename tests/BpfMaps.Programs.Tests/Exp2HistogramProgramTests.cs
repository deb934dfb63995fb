namespace BpfMaps.Programs.Tests;

public class Exp2HistogramProgramTests : KernelTest
{
    [Theory]
    [InlineData(0ul, 0u)]
    [InlineData(1ul, 0u)]
    [InlineData(2ul, 1u)]
    [InlineData(3ul, 2u)]
    [InlineData(4ul, 2u)]
    [InlineData(5ul, 3u)]
    [InlineData(1024ul, 10u)]
    [InlineData(1025ul, 11u)]
    [InlineData(ulong.MaxValue, 26u)]
    public void BucketOf_is_log2_rounded_up_and_clamped(ulong value, uint bucket) => Assert.Equal(bucket, Exp2HistogramProgram.BucketOf(value));

    [Theory]
    [InlineData(MapType.Hash, ProgramType.Xdp)]
    [InlineData(MapType.PerCpuHash, ProgramType.Xdp)]
    [InlineData(MapType.Array, ProgramType.SchedCls)]
    [InlineData(MapType.PerCpuArray, ProgramType.Xdp)]
    [InlineData(MapType.LruHash, ProgramType.SchedCls)]
    public void Packet_values_land_in_the_buckets_BucketOf_names_and_sum_into_the_sum_key(MapType type, ProgramType programType)
    {
        using BpfMap hist = CreateCounters(type, 64);
        var options = new Exp2HistogramProgramOptions { Value = Exp2HistogramValue.PacketValue, ProgramType = programType, MaxBucket = 20 };
        using BpfProgram p = Exp2HistogramProgram.Load(hist, options);
        ulong[] values = [0, 1, 2, 3, 4, 5, 8, 9, 1000, 1UL << 20, (1UL << 20) + 1, 1UL << 40];
        var expected = new Dictionary<uint, ulong>();
        foreach (ulong v in values)
        {
            Assert.Equal(options.ReturnValue, p.TestRun(Exp2HistogramProgram.CreatePacket(v), repeat: 3).ReturnValue);
            uint bucket = Exp2HistogramProgram.BucketOf(v, options.MaxBucket);
            expected[bucket] = expected.GetValueOrDefault(bucket) + 3;
        }

        foreach ((uint bucket, ulong count) in expected)
        {
            Assert.Equal(count, ValueOf(hist, bucket));
        }

        Assert.Equal(3ul * 3, ValueOf(hist, 20));
        Assert.Equal(3 * values.Aggregate(0ul, (a, v) => a + v), ValueOf(hist, 21));
        Assert.Equal((3ul * (ulong)values.Length) + ValueOf(hist, 21), SumAll(hist));
    }

    [Fact]
    public void Run_durations_count_every_run()
    {
        using BpfMap hist = CreateCounters(MapType.Hash, 64);
        using BpfProgram p = Exp2HistogramProgram.Load(hist);
        TestRunResult r = p.TestRun(Exp2HistogramProgram.CreatePacket(0), repeat: 5000);
        Assert.Equal(Exp2HistogramProgramOptions.XdpPass, r.ReturnValue);
        ulong sum = ValueOf(hist, 27);
        Assert.Equal(5000ul, SumAll(hist) - sum);
        Assert.True(sum > 0, "the durations add up to more than nothing");
    }

    [Fact]
    public void Rejects_maps_and_options_that_do_not_fit()
    {
        using BpfMap wide = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 8, ValueSize = 8, MaxEntries = 4 });
        Assert.Contains("4-byte keys and 8-byte values", Assert.Throws<ArgumentException>(() => Exp2HistogramProgram.Assemble(wide)).Message, StringComparison.Ordinal);
        using BpfMap small = CreateCounters(MapType.Array, 27);
        Assert.Contains("need 28", Assert.Throws<ArgumentException>(() => Exp2HistogramProgram.Assemble(small)).Message, StringComparison.Ordinal);
        using BpfMap hist = CreateCounters();
        Assert.Throws<ArgumentException>(() => Exp2HistogramProgram.Assemble(hist, new Exp2HistogramProgramOptions { MaxBucket = 64 }));
        Assert.Throws<ArgumentException>(() => Exp2HistogramProgram.Assemble(hist, new Exp2HistogramProgramOptions { Value = Exp2HistogramValue.PacketValue, ProgramType = ProgramType.SocketFilter }));
    }
}
