using BpfMaps.Kernel;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

[CollectionDefinition(nameof(FdLeakTests), DisableParallelization = true)]
public sealed class FdLeakCollection;

/// <summary>
/// Runs alone, after the parallel tests: every error path leaves the descriptor count where it was,
/// and by now the whole suite has released every descriptor it created.
/// </summary>
[Collection(nameof(FdLeakTests))]
public class FdLeakTests
{
    private static void NoLeak(Action action)
    {
        int before = TrackFds.OpenBpfFds();
        long live = BpfFd.LiveCount;
        try
        {
            action();
        }
        catch (Exception e) when (e is BpfException or ArgumentException or NotSupportedException or MapIterationRestartedException)
        {
        }

        Assert.Equal(live, BpfFd.LiveCount);
        Assert.Equal(before, TrackFds.OpenBpfFds());
    }

    [Fact]
    public void Error_paths_do_not_leak()
    {
        Require();
        NoLeak(() => BpfMap.OpenById(uint.MaxValue - 3));
        NoLeak(() => BpfMap.OpenPinned("/sys/fs/bpf/none-such"));
        NoLeak(() => BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 8, ValueSize = 8, MaxEntries = 1 }));
        NoLeak(() => { using var m = Hash(); m.Pin("/proc/not-bpffs"); });
        NoLeak(() => { using var t = Hash(); using var m = BpfMap.Create(new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = t }); });
        NoLeak(() => { using var m = Hash(); foreach (var e in m.Dump()) { } });
        NoLeak(() => BpfMap.ListSystemMaps());
        NoLeak(() =>
        {
            using var file = File.OpenHandle("/dev/null");
            BpfMap.FromOwnedFd(new BpfFd(BpfMaps.Interop.Interop.Dup((int)file.DangerousGetHandle())));
        });
        NoLeak(() => { using var m = Hash(type: MapType.Array); m.Drain(); });
        NoLeak(() => BpfMap.Create(new MapSpec { Type = MapType.Queue, KeySize = 4, ValueSize = 4, MaxEntries = 4 }));
        NoLeak(() => { using var m = BpfMap.Create(new MapSpec { Type = MapType.BloomFilter, KeySize = 0, ValueSize = 4, MaxEntries = 4 }); m.TryPop(new byte[4]); });
        NoLeak(() => { using var m = BpfMap.Create(new MapSpec { Type = MapType.Queue, KeySize = 0, ValueSize = 4, MaxEntries = 1 }); m.Push(U32(1)); m.Push(U32(2)); });
    }

    [Fact]
    public void The_whole_suite_released_every_descriptor()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(BpfFd.FinalizedCount == 0, $"{BpfFd.FinalizedCount} descriptors were never disposed (the finalizer closed them), created at:\n{string.Join("\n---\n", BpfFd.FinalizedOrigins)}");
        Assert.True(BpfFd.LiveCount == 0, $"{BpfFd.LiveCount} descriptors still open, created at:\n{string.Join("\n---\n", BpfFd.LiveOrigins)}");
        Assert.True(CountedFd.LiveCount == 0 && CountedFd.FinalizedCount == 0, $"{CountedFd.LiveCount} epoll/eventfd/memfd descriptors still open, {CountedFd.FinalizedCount} closed by the finalizer:\n{string.Join("\n---\n", CountedFd.LiveOrigins.Concat(CountedFd.FinalizedOrigins))}");
        Assert.True(MappedRegion.LiveCount == 0 && MappedRegion.FinalizedCount == 0, $"{MappedRegion.LiveCount} memory mappings still open, {MappedRegion.FinalizedCount} released by the finalizer:\n{string.Join("\n---\n", MappedRegion.LiveOrigins.Concat(MappedRegion.FinalizedOrigins))}");
    }
}
