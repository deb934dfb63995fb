namespace BpfMaps.Programs.Tests;

/// <summary>The writer and drainer hot paths of the drain race allocate nothing per call.</summary>
public class AllocationTests : KernelTest
{
    [Fact]
    public void Test_run_allocates_nothing()
    {
        using BpfMap counters = CreateCounters();
        using BpfProgram p = CounterProgram.Load(counters);
        byte[] packet = CounterProgram.CreatePacket();
        Assert.Equal(0, p.TestRunOrErrno(packet, Span<byte>.Empty, 10, out _)); // warm up
        int failures = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            failures += p.TestRunOrErrno(packet, Span<byte>.Empty, 10, out _) == 0 ? 0 : 1;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, failures);
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData(LiveDrainMethod.LookupAndDeleteBatch)]
    [InlineData(LiveDrainMethod.GetNextKeyLookupDelete)]
    public void Live_drain_pass_allocates_nothing(LiveDrainMethod method)
    {
        using BpfMap counters = CreateCounters(MapType.Hash, 256);
        using BpfProgram p = CounterProgram.Load(counters, new CounterProgramOptions { KeyCount = 200 });
        byte[] packet = CounterProgram.CreatePacket();
        var drainer = new LiveCounterDrainer(counters, method);
        p.TestRun(packet, 5000);
        drainer.DrainCounters();
        ulong total = 0;
        long allocated = 0;
        for (int i = 0; i < 20; i++)
        {
            p.TestRun(packet, 5000);
            long before = GC.GetAllocatedBytesForCurrentThread();
            total += drainer.DrainCounters().Total;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(100_000ul, total);
        Assert.Equal(0, allocated);
    }
}
