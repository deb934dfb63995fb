using BenchmarkDotNet.Attributes;
using BpfMaps.InProcess;

namespace BpfMaps.Benchmarks.InProcess;

/// <summary>
/// A full batch dump (BPF_MAP_LOOKUP_BATCH semantics, <see cref="BpfMap.Dump"/>) of a 1M-entry hash
/// map: in-process engine vs the kernel, same contents, same batch size. Needs root for the kernel map.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 1, iterationCount: 5)]
public class DumpBenchmarks
{
    private const int Entries = 1_000_000;

    private BpfMap _engine = null!;
    private BpfMap _kernel = null!;

    [Params(4096)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var spec = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Entries };
        _engine = InProcessMap.Create(spec);
        _kernel = BpfMap.Create(spec);
        var keys = new uint[Entries];
        var values = new ulong[Entries];
        for (int i = 0; i < Entries; i++)
        {
            keys[i] = (uint)i * 2654435761u;
            values[i] = (ulong)i;
        }

        new BpfMap<uint, ulong>(_engine).UpdateBatch(keys, values);
        new BpfMap<uint, ulong>(_kernel).UpdateBatch(keys, values);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _kernel.Dispose();
    }

    private long Dump(BpfMap map)
    {
        long n = 0;
        using MapEnumerator e = map.Dump(new DumpOptions { BatchSize = BatchSize, Method = DumpMethod.Batch }).GetEnumerator();
        while (e.MoveNextBatch())
        {
            n += e.BatchCount;
        }

        return n != Entries ? throw new InvalidOperationException($"dumped {n} entries, expected {Entries}") : n;
    }

    [Benchmark(Baseline = true)]
    public long Kernel() => Dump(_kernel);

    [Benchmark]
    public long Engine() => Dump(_engine);
}
