using BpfMaps.Measurements;

namespace BpfMaps.Programs.Tests;

public class DrainRaceTests : KernelTest
{
    [Fact]
    public void Every_method_reconciles_and_reports_rates()
    {
        DrainRaceResult result = DrainRace.Run(new DrainRaceOptions
        {
            Writers = 2,
            DurationPerMethod = TimeSpan.FromMilliseconds(400),
            RepeatPerRun = 500,
        }, TestContext.Current.CancellationToken);
        Assert.Equal(4, result.Methods.Count);
        foreach (DrainRaceMethodResult r in result.Methods)
        {
            Assert.True(r.Produced > 0, $"{r.MethodName}: nothing produced");
            Assert.Equal(r.Produced, r.ProducedByProgram);
            Assert.True(r.Lost >= 0, $"{r.MethodName}: counted {r.Counted} of {r.Produced} (double counting?)");
            Assert.True(r.Drains > 0 && r.DrainsPerSecond > 0, $"{r.MethodName}: no drains");
            Assert.InRange(r.LostPercent, 0, 5);
        }

        Assert.Equal(0, result.Methods.Single(m => m.Method == DrainMethod.SwapDrain).Lost);
    }

    [Fact]
    public void Live_drainers_take_everything_when_nothing_writes()
    {
        foreach (LiveDrainMethod method in Enum.GetValues<LiveDrainMethod>())
        {
            using BpfMap counters = CreateCounters(MapType.PerCpuHash, 4096);
            using BpfProgram p = CounterProgram.Load(counters, new CounterProgramOptions { KeyCount = 3000 });
            p.TestRun(CounterProgram.CreatePacket(), 50_000);
            var drainer = new LiveCounterDrainer(counters, method);
            ulong peek = drainer.PeekTotals().Total;
            CounterDrainPass pass = drainer.DrainCounters();
            Assert.Equal(50_000ul, peek);
            Assert.Equal(50_000ul, pass.Total);
            Assert.Equal(0, counters.CountEntries());
        }
    }

    [Fact]
    public void Invalid_options_are_argument_errors()
    {
        Assert.Throws<ArgumentException>(() => DrainRace.Run(new DrainRaceOptions { Writers = 0 }, TestContext.Current.CancellationToken));
        Assert.Throws<ArgumentException>(() => DrainRace.Run(new DrainRaceOptions { DurationPerMethod = TimeSpan.Zero }, TestContext.Current.CancellationToken));
        using BpfMap array = CreateCounters(MapType.Array, 4);
        Assert.Throws<ArgumentException>(() => new LiveCounterDrainer(array, LiveDrainMethod.MapDrain));
    }
}
