using BenchmarkDotNet.Attributes;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// Full dump of a 100k-entry kernel hash map by batch size: the measurement behind
/// <see cref="DumpOptions.DefaultBatchSize"/>. Allocation columns show 0 B per entry.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class DumpBenchmarks
{
    private const int Entries = 100_000;
    private BpfMap _map = null!;
    private DumpOptions _options = null!;

    [Params(64, 256, 1024, 4096, 16384)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Entries, Name = "bdn_dump" });
        var typed = new BpfMap<uint, ulong>(_map);
        uint[] keys = Enumerable.Range(0, Entries).Select(i => (uint)i).ToArray();
        ulong[] values = keys.Select(k => (ulong)k).ToArray();
        typed.UpdateBatch(keys, values);
        _options = new DumpOptions { BatchSize = BatchSize };
    }

    [GlobalCleanup]
    public void Cleanup() => _map.Dispose();

    [Benchmark(OperationsPerInvoke = Entries)]
    public ulong Dump()
    {
        ulong sum = 0;
        foreach (MapEntry e in _map.Dump(_options))
        {
            sum += e.Value[0];
        }

        return sum;
    }
}

/// <summary>Single-element operations: one syscall each, and no allocation.</summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class ElementBenchmarks
{
    private BpfMap _map = null!;
    private BpfMap<uint, ulong> _typed = null!;
    private readonly byte[] _key = BitConverter.GetBytes(7u);
    private readonly byte[] _value = new byte[8];

    [GlobalSetup]
    public void Setup()
    {
        _map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 1024, Name = "bdn_elem" });
        _typed = new BpfMap<uint, ulong>(_map);
        _typed.Update(7, 1);
    }

    [GlobalCleanup]
    public void Cleanup() => _map.Dispose();

    [Benchmark]
    public bool Lookup() => _map.TryLookup(_key, _value);

    [Benchmark]
    public bool TypedLookup() => _typed.TryLookup(7, out _);

    [Benchmark]
    public void Update() => _map.Update(_key, _value);
}
