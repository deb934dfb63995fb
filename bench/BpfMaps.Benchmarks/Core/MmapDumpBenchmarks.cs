using BenchmarkDotNet.Attributes;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// The full dump of a 1M-entry BPF_F_MMAPABLE array (u32 keys, u64 values): <c>Dump()</c> reads the mapped memory,
/// <c>Dump(Method = Batch)</c> makes BPF_MAP_LOOKUP_BATCH calls, as for any array. The target is 20x.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 8)]
public class MmapDumpBenchmarks
{
    private const int Entries = 1_000_000;
    private static readonly DumpOptions Batch = new() { Method = DumpMethod.Batch };
    private BpfMap _map = null!;

    [GlobalSetup]
    public void Setup()
    {
        _map = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = Entries, Flags = MapFlags.Mmapable, Name = "bdn_mmap" });
        using MapMemory memory = _map.OpenMemory();
        Span<ulong> values = memory.AsSpan<ulong>();
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (ulong)i;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _map.Dispose();

    [Benchmark(OperationsPerInvoke = Entries, Baseline = true)]
    public ulong DumpBatchSyscalls()
    {
        ulong sum = 0;
        foreach (MapEntry e in _map.Dump(Batch))
        {
            sum += e.Value[0];
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public ulong DumpFromMemory()
    {
        ulong sum = 0;
        foreach (MapEntry e in _map.Dump())
        {
            sum += e.Value[0];
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public ulong TypedDumpFromMemory()
    {
        ulong sum = 0;
        foreach (var (_, v) in new BpfMap<uint, ulong>(_map).Dump())
        {
            sum += v;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public ulong SpanOverMemory()
    {
        ulong sum = 0;
        using MapMemory memory = _map.OpenMemory(writable: false);
        foreach (ulong v in memory.AsReadOnlySpan<ulong>())
        {
            sum += v;
        }

        return sum;
    }
}
