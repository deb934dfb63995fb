using BpfMaps.Events;
using BpfMaps.InProcess.Tests.Differential;
using BpfMaps.Kernel;
using CsCheck;

namespace BpfMaps.InProcess.Tests;

[CollectionDefinition(nameof(FdLeakTests), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>Runs alone, so the process-wide count of live descriptors means something.</summary>
[Collection(nameof(FdLeakTests))]
public class FdLeakTests
{
    [Fact]
    public void Differential_runs_close_every_kernel_map()
    {
        Backends.RequireKernel();
        long before = BpfFd.LiveCount;
        ProgramGen.Program().Sample(DiffRunner.Run, iter: 300, threads: 1, print: p => p.ToString());
        ProgramGen.Program(lru: true).Sample(p => DiffRunnerCreateOnly(p), iter: 50, threads: 1);
        Assert.True(BpfFd.LiveCount == before, $"{BpfFd.LiveCount - before} descriptors leaked: {string.Join("; ", BpfFd.LiveOrigins)}");
    }

    /// <summary>
    /// Ring buffers, user ring buffers, pollers and mmapable arrays on both backends leave no descriptor (BPF, epoll,
    /// eventfd, memfd), no region and no mapping behind, on the normal paths and on the error paths.
    /// </summary>
    [Fact]
    public void Event_maps_release_every_descriptor_and_mapping()
    {
        long bpf = BpfFd.LiveCount, fds = CountedFd.LiveCount, regions = MappedRegion.LiveCount;
        int mappings = Mappings();
        foreach (Backend backend in new[] { Backend.InProcess, Backend.Kernel })
        {
            if (backend == Backend.Kernel && Backends.KernelUnavailableReason is not null)
            {
                continue;
            }

            using (BpfMap ring = Backends.Create(backend, EventConformanceTests.RingSpec()))
            using (var producer = new EventConformanceTests.Producer(backend, ring))
            using (RingBuffer reader = RingBuffer.Open(ring))
            using (var poller = new EventPoller())
            {
                poller.Add(reader, _ => { });
                producer.Run(100);
                Assert.Equal(100, poller.Poll(TimeSpan.FromSeconds(1)));
                Assert.Throws<ArgumentException>(() => UserRingBuffer.Open(ring));
                Assert.Throws<ArgumentException>(() => ring.OpenMemory());
            }

            using (BpfMap user = Backends.Create(backend, EventConformanceTests.RingSpec(4096, MapType.UserRingBuf)))
            using (UserRingBuffer writer = UserRingBuffer.Open(user))
            {
                writer.Write(new byte[8]);
                writer.Reserve(16).Discard();
                Assert.Throws<ArgumentException>(() => RingBuffer.Open(user));
            }

            using (BpfMap array = Backends.Create(backend, new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1000, Flags = MapFlags.Mmapable }))
            {
                using (MapMemory m = array.OpenMemory())
                {
                    m.AsSpan<ulong>().Fill(1);
                    Assert.Throws<BpfException>(() => array.Freeze());
                }

                foreach (MapEntry _ in array.Dump())
                {
                }

                array.Freeze();
                Assert.Throws<BpfException>(() => array.OpenMemory());
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(BpfFd.LiveCount == bpf, $"{BpfFd.LiveCount - bpf} BPF descriptors leaked: {string.Join("; ", BpfFd.LiveOrigins)}");
        Assert.True(CountedFd.LiveCount == fds, $"{CountedFd.LiveCount - fds} epoll/eventfd/memfd descriptors leaked: {string.Join("; ", CountedFd.LiveOrigins)}");
        Assert.True(MappedRegion.LiveCount == regions, $"{MappedRegion.LiveCount - regions} regions leaked: {string.Join("; ", MappedRegion.LiveOrigins)}");
        Assert.Equal(0, CountedFd.FinalizedCount + MappedRegion.FinalizedCount);
        Assert.Equal(mappings, Mappings());
    }

    private static int Mappings() => File.ReadLines("/proc/self/maps")
        .Count(l => l.EndsWith("anon_inode:bpf-map", StringComparison.Ordinal) || l.Contains("/memfd:bpfmaps-ring", StringComparison.Ordinal));

    private static void DiffRunnerCreateOnly(MapProgram p)
    {
        using BpfMap k = Backends.Create(Backend.Kernel, p.Config.Spec with { Flags = p.Config.Flags & ~(MapFlags.ReadOnly | MapFlags.WriteOnly) });
        Assert.True(p.Config.MaxEntries <= k.MaxEntries);
    }
}
