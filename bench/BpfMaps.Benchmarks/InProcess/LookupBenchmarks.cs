using BenchmarkDotNet.Attributes;
using BpfMaps.InProcess;

namespace BpfMaps.Benchmarks.InProcess;

/// <summary>
/// One point lookup through the typed view, single-threaded: the in-process engine against the kernel
/// (BPF_MAP_LOOKUP_ELEM, one bpf() syscall per lookup). Same 100,000 scattered u32 keys in a hash of
/// 200,000 on both sides, each op a key from a fixed random sequence. Results are per lookup
/// (<see cref="BenchmarkAttribute.OperationsPerInvoke"/>). Needs root for the kernel map.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 5)]
public class LookupBenchmarks
{
    private const int Keys = 100_000;
    private const int Ops = 1 << 16;

    private BpfMap _engine = null!;
    private BpfMap _kernel = null!;
    private BpfMap<uint, ulong> _engineTyped = null!;
    private BpfMap<uint, ulong> _kernelTyped = null!;
    private uint[] _sequence = null!;

    [GlobalSetup]
    public void Setup()
    {
        var spec = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Keys * 2 };
        _engine = InProcessMap.Create(spec);
        _kernel = BpfMap.Create(spec);
        _engineTyped = new BpfMap<uint, ulong>(_engine);
        _kernelTyped = new BpfMap<uint, ulong>(_kernel);
        var rnd = new Random(13);
        var keys = new HashSet<uint>();
        while (keys.Count < Keys)
        {
            keys.Add((uint)rnd.NextInt64(0, uint.MaxValue));
        }

        uint[] universe = [.. keys];
        var values = new ulong[Keys];
        for (int i = 0; i < Keys; i++)
        {
            values[i] = (ulong)i;
        }

        _engineTyped.UpdateBatch(universe, values);
        _kernelTyped.UpdateBatch(universe, values);
        _sequence = new uint[Ops];
        for (int i = 0; i < Ops; i++)
        {
            _sequence[i] = universe[rnd.Next(Keys)];
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _kernel.Dispose();
    }

    private static ulong Run(BpfMap<uint, ulong> map, uint[] sequence)
    {
        ulong sum = 0;
        foreach (uint k in sequence)
        {
            if (!map.TryLookup(k, out ulong v))
            {
                throw new InvalidOperationException($"key {k} missing");
            }

            sum += v;
        }

        return sum;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    public ulong Kernel() => Run(_kernelTyped, _sequence);

    [Benchmark(OperationsPerInvoke = Ops)]
    public ulong Engine() => Run(_engineTyped, _sequence);
}
