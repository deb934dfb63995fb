using BenchmarkDotNet.Attributes;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// A full dump of a 100k-entry kernel hash map by the get_next_key walk (<see cref="DumpMethod.GetNextKey"/>,
/// the fallback for map types and kernels without the batch commands): time per entry, and 0 B per
/// entry allocated (what the walk keeps of the keys it met is pooled).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class WalkBenchmarks
{
    private const int Entries = 100_000;
    private readonly DumpOptions _options = new() { Method = DumpMethod.GetNextKey };
    private BpfMap _map = null!;

    [GlobalSetup]
    public void Setup()
    {
        _map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Entries, Name = "bdn_walk" });
        var typed = new BpfMap<uint, ulong>(_map);
        uint[] keys = Enumerable.Range(0, Entries).Select(i => (uint)i).ToArray();
        ulong[] values = keys.Select(k => (ulong)k).ToArray();
        typed.UpdateBatch(keys, values);
    }

    [GlobalCleanup]
    public void Cleanup() => _map.Dispose();

    [Benchmark(OperationsPerInvoke = Entries)]
    public ulong Walk()
    {
        ulong sum = 0;
        foreach (MapEntry e in _map.Dump(_options))
        {
            sum += e.Value[0];
        }

        return sum;
    }
}
