using System.Collections.Concurrent;
using System.Numerics;
using BenchmarkDotNet.Attributes;
using BpfMaps.InProcess;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.Benchmarks.InProcess;

/// <summary>
/// Point lookup/update/delete from two threads at once on the in-process engine, next to
/// <see cref="ConcurrentDictionary{TKey, TValue}"/> doing the same. Results are per operation.
/// </summary>
/// <remarks>
/// <para>Two key sets, the same on both sides: <see cref="KeyPattern.Sequential"/> keys 0..99,999
/// (which a dictionary hashes as themselves, so neighbouring keys share cache lines), and
/// <see cref="KeyPattern.Scattered"/> 100,000 distinct random u32 keys, as flow hashes or
/// addresses would be.</para>
/// <para>The two <c>Floor</c> benchmarks are not lookups. They do the least any lookup with the
/// kernel's bucket placement must do, over a slot array shaped like the engine's (32-byte slots,
/// <c>roundup_pow_of_two(max_entries)</c> of them): hash the key and read one slot, with no lock,
/// no key compare and no chain. <see cref="FloorKernelHash"/> hashes with the kernel's jhash,
/// <see cref="FloorMultiplicativeHash"/> with one multiply, which shows what jhash alone costs.</para>
/// </remarks>
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
    private ulong[] _floorSlots = null!;
    private uint _floorMask;
    private int _floorShift;
    private JHash.WordState _floorHash;

    /// <summary>Which keys the map holds.</summary>
    public enum KeyPattern
    {
        /// <summary>0..99,999.</summary>
        Sequential,

        /// <summary>100,000 distinct random u32 values.</summary>
        Scattered,
    }

    [Params(KeyPattern.Sequential, KeyPattern.Scattered)]
    public KeyPattern Pattern { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        uint[] universe = Universe(Pattern);
        _map = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = Keys * 2 });
        _typed = new BpfMap<uint, ulong>(_map);
        _dictionary = new ConcurrentDictionary<uint, ulong>(Environment.ProcessorCount, Keys * 2);
        for (int i = 0; i < Keys; i++)
        {
            _typed.Update(universe[i], (ulong)i);
            _dictionary[universe[i]] = (ulong)i;
        }

        // Each thread walks its own random sequence over the keys, so neither side benefits from locality.
        _keys = new uint[Threads][];
        for (int t = 0; t < Threads; t++)
        {
            var rnd = new Random(t + 1);
            _keys[t] = new uint[OpsPerThread];
            for (int i = 0; i < OpsPerThread; i++)
            {
                _keys[t][i] = universe[rnd.Next(Keys)];
            }
        }

        uint buckets = BitOperations.RoundUpToPowerOf2(Keys * 2);
        _floorMask = buckets - 1;
        _floorShift = 32 - BitOperations.Log2(buckets);
        _floorHash = JHash.Prepare(0);
        _floorSlots = GC.AllocateArray<ulong>((int)buckets * 4, pinned: true);
        for (int i = 0; i < Keys; i++)
        {
            _floorSlots[(JHash.Word(universe[i], _floorHash) & _floorMask) * 4 + 3] = (ulong)i;
            _floorSlots[((universe[i] * 0x9E3779B9u) >> _floorShift) * 4 + 2] = (ulong)i;
        }
    }

    private static uint[] Universe(KeyPattern pattern)
    {
        var keys = new uint[Keys];
        if (pattern == KeyPattern.Sequential)
        {
            for (uint k = 0; k < Keys; k++)
            {
                keys[k] = k;
            }

            return keys;
        }

        var rnd = new Random(99);
        var seen = new HashSet<uint>();
        for (int i = 0; i < Keys;)
        {
            uint k = (uint)rnd.NextInt64(0, 1L << 32);
            if (seen.Add(k))
            {
                keys[i++] = k;
            }
        }

        return keys;
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
    public void FloorKernelHash() => OnThreads(keys =>
    {
        ulong[] slots = _floorSlots;
        uint mask = _floorMask;
        JHash.WordState hash = _floorHash;
        ulong sum = 0;
        foreach (uint k in keys)
        {
            sum += slots[(JHash.Word(k, hash) & mask) * 4 + 3];
        }

        GC.KeepAlive(sum);
    });

    [Benchmark(OperationsPerInvoke = Ops)]
    public void FloorMultiplicativeHash() => OnThreads(keys =>
    {
        ulong[] slots = _floorSlots;
        int shift = _floorShift;
        ulong sum = 0;
        foreach (uint k in keys)
        {
            sum += slots[((k * 0x9E3779B9u) >> shift) * 4 + 2];
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
