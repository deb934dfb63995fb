using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BpfMaps.InProcess;

namespace BpfMaps.Benchmarks.InProcess;

/// <summary>
/// Point lookup/update/delete from two threads at once on the in-process engine, next to
/// <see cref="ConcurrentDictionary{TKey, TValue}"/> doing the same. Results are per operation.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 5)]
public class PointOpsBenchmarks
{
    private const int Keys = 100_000;
    private const int Threads = 2;
    private const int OpsPerThread = 1 << 20;
    private const int Ops = Threads * OpsPerThread;

    private BpfMap _map = null!;
    private BpfMap<uint, ulong> _typed = null!;
    private ConcurrentDictionary<uint, ulong> _dictionary = null!;
    private uint[][] _keys = null!;

    [GlobalSetup]
    public void Setup()
    {
        _map = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Keys * 2 });
        _typed = new BpfMap<uint, ulong>(_map);
        _dictionary = new ConcurrentDictionary<uint, ulong>(Environment.ProcessorCount, Keys * 2);
        for (uint k = 0; k < Keys; k++)
        {
            _typed.Update(k, k);
            _dictionary[k] = k;
        }

        // Each thread walks its own random key sequence, so neither side benefits from locality.
        _keys = new uint[Threads][];
        for (int t = 0; t < Threads; t++)
        {
            var rnd = new Random(t + 1);
            _keys[t] = new uint[OpsPerThread];
            for (int i = 0; i < OpsPerThread; i++)
            {
                _keys[t][i] = (uint)rnd.Next(Keys);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _map.Dispose();

    private void OnThreads(Action<uint[]> body)
    {
        var other = new Thread(() => body(_keys[1]));
        other.Start();
        body(_keys[0]);
        other.Join();
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public void EngineLookup() => OnThreads(keys =>
    {
        BpfMap<uint, ulong> m = _typed;
        ulong sum = 0;
        foreach (uint k in keys)
        {
            if (m.TryLookup(k, out ulong v))
            {
                sum += v;
            }
        }

        GC.KeepAlive(sum);
    });

    [Benchmark(OperationsPerInvoke = Ops)]
    public void DictionaryLookup() => OnThreads(keys =>
    {
        ConcurrentDictionary<uint, ulong> d = _dictionary;
        ulong sum = 0;
        foreach (uint k in keys)
        {
            if (d.TryGetValue(k, out ulong v))
            {
                sum += v;
            }
        }

        GC.KeepAlive(sum);
    });

    [Benchmark(OperationsPerInvoke = Ops)]
    public void EngineUpdate() => OnThreads(keys =>
    {
        BpfMap<uint, ulong> m = _typed;
        foreach (uint k in keys)
        {
            m.Update(k, k);
        }
    });

    [Benchmark(OperationsPerInvoke = Ops)]
    public void DictionaryUpdate() => OnThreads(keys =>
    {
        ConcurrentDictionary<uint, ulong> d = _dictionary;
        foreach (uint k in keys)
        {
            d[k] = k;
        }
    });

    /// <summary>Delete then re-insert: two operations per key, so the population stays put.</summary>
    [Benchmark(OperationsPerInvoke = Ops * 2)]
    public void EngineDeleteInsert() => OnThreads(keys =>
    {
        BpfMap<uint, ulong> m = _typed;
        foreach (uint k in keys)
        {
            m.Delete(k);
            m.Update(k, k);
        }
    });

    [Benchmark(OperationsPerInvoke = Ops * 2)]
    public void DictionaryDeleteInsert() => OnThreads(keys =>
    {
        ConcurrentDictionary<uint, ulong> d = _dictionary;
        foreach (uint k in keys)
        {
            d.TryRemove(k, out _);
            d[k] = k;
        }
    });
}
