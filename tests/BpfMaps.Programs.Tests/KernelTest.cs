using BpfMaps.Features;
using BpfMaps.Kernel;

namespace BpfMaps.Programs.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelTestGroup
{
    public const string Name = "kernel";
}

/// <summary>
/// Base of tests that use the real kernel: skips when bpf() is unavailable, and fails a test that
/// leaves BPF descriptors open (the kernel collection runs serially, so the count is the test's own).
/// </summary>
[Collection(KernelTestGroup.Name)]
public abstract class KernelTest : IDisposable
{
    private static readonly Lazy<string?> s_unavailable = new(BpfFeatures.WhyUnavailable);
    private readonly long _liveBefore;
    private readonly long _fdsBefore;
    private readonly long _regionsBefore;
    private readonly int _mappingsBefore;

    protected KernelTest()
    {
        if (s_unavailable.Value is { } reason)
        {
            Assert.Skip($"bpf() unavailable: {reason}");
        }

        _liveBefore = BpfFd.LiveCount;
        _fdsBefore = CountedFd.LiveCount;
        _regionsBefore = MappedRegion.LiveCount;
        _mappingsBefore = MapMappings();
    }

    /// <summary>Mappings of BPF maps, perf event rings and in-process rings in this process, from /proc/self/maps.</summary>
    protected static int MapMappings()
    {
        int n = 0;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            if (line.EndsWith("anon_inode:bpf-map", StringComparison.Ordinal) || line.EndsWith("anon_inode:[perf_event]", StringComparison.Ordinal)
                || line.Contains("/memfd:bpfmaps-ring", StringComparison.Ordinal))
            {
                n++;
            }
        }

        return n;
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        long leaked = BpfFd.LiveCount - _liveBefore;
        Assert.True(leaked == 0, $"{leaked} BPF descriptor(s) leaked by this test:\n{string.Join("\n---\n", BpfFd.LiveOrigins)}");
        long fds = CountedFd.LiveCount - _fdsBefore;
        Assert.True(fds == 0, $"{fds} epoll/eventfd/memfd/perf event descriptor(s) leaked by this test:\n{string.Join("\n---\n", CountedFd.LiveOrigins)}");
        long regions = MappedRegion.LiveCount - _regionsBefore;
        Assert.True(regions == 0, $"{regions} memory mapping(s) leaked by this test:\n{string.Join("\n---\n", MappedRegion.LiveOrigins)}");
        int mappings = MapMappings() - _mappingsBefore;
        Assert.True(mappings == 0, $"{mappings} mapping(s) of BPF maps, perf rings or rings still in /proc/self/maps after this test");
    }

    protected static BpfMap CreateCounters(MapType type = MapType.Hash, int maxEntries = 1024)
        => BpfMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = maxEntries, Name = "t_counters" });

    protected static MapSpec CounterSpec(MapType type = MapType.Hash, int maxEntries = 1024)
        => new() { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = maxEntries, Name = "t_counters" };

    protected static ulong SumAll(BpfMap map)
    {
        ulong total = 0;
        foreach (MapEntry e in map.Dump())
        {
            for (int cpu = 0; cpu < map.Cpus; cpu++)
            {
                total += BitConverter.ToUInt64(e.Value.Slice(cpu * 8, 8));
            }
        }

        return total;
    }

    protected static ulong ValueOf(BpfMap map, uint key)
    {
        byte[] value = new byte[map.ValueBufferSize];
        if (!map.TryLookup(BitConverter.GetBytes(key), value))
        {
            return 0;
        }

        ulong total = 0;
        for (int cpu = 0; cpu < map.Cpus; cpu++)
        {
            total += BitConverter.ToUInt64(value, cpu * 8);
        }

        return total;
    }
}
