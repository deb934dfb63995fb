using System.Buffers.Binary;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Watch;

namespace BpfMaps.Cli.Demo;

/// <summary>
/// User-space writers that count into a hash map without losing a count to a concurrent drain. A
/// writer never read-modify-writes a value in place: it takes the key's count out atomically
/// (BPF_MAP_LOOKUP_AND_DELETE_ELEM, 5.14), adds its increment, and puts the sum back with
/// BPF_NOEXIST; if another writer got there first it takes that count too and tries again. Every
/// count is therefore always in exactly one place: the map, one writer's hand, or a drained batch,
/// which is what makes <c>produced = drained + remaining</c> exact.
/// </summary>
internal sealed class TakeAndAddWorkload : IDemoWorkload
{
    private const int Keys = 32;
    private readonly BpfMap _map;
    private readonly int _writers;
    private readonly List<Thread> _threads = [];
    private volatile bool _stop;
    private long _produced;

    /// <summary>Creates the map.</summary>
    /// <param name="writers">Writer threads.</param>
    public TakeAndAddWorkload(int writers)
    {
        _writers = writers;
        _map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 1024, Name = "bpfmap_demo" });
        Source = new MapWatchSource(_map, drain: true, new EntryLayout(4, 8));
    }

    /// <inheritdoc />
    public string Description => $"kernel hash map {_map.Id}: {_writers} user-space writer threads (take-and-add with BPF_MAP_LOOKUP_AND_DELETE_ELEM), drained with BPF_MAP_LOOKUP_AND_DELETE_BATCH";

    /// <inheritdoc />
    public IWatchSource Source { get; }

    /// <inheritdoc />
    public long Produced => Interlocked.Read(ref _produced);

    /// <inheritdoc />
    public void Start()
    {
        for (int i = 0; i < _writers; i++)
        {
            int seed = i;
            var t = new Thread(() => Write(seed)) { IsBackground = true, Name = $"demo-writer-{i}" };
            _threads.Add(t);
            t.Start();
        }
    }

    /// <inheritdoc />
    public void Stop()
    {
        _stop = true;
        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }

    /// <inheritdoc />
    public long DrainRemaining()
    {
        double sum = 0;
        Source.Read((_, v) => sum += v);
        return (long)sum;
    }

    /// <inheritdoc />
    public void Dispose() => Source.Dispose();

    private void Write(int seed)
    {
        var rng = new Random(seed);
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        while (!_stop)
        {
            // Skewed keys: low keys are hot, so the top of the watch table means something.
            uint k = (uint)Math.Min(Keys - 1, (int)(-Math.Log(1 - rng.NextDouble()) * 4));
            ulong inc = (ulong)rng.Next(1, 10);
            BinaryPrimitives.WriteUInt32LittleEndian(key, k);
            ulong hand = inc;
            Interlocked.Add(ref _produced, (long)inc);
            while (true)
            {
                if (_map.TryLookupAndDelete(key, value))
                {
                    hand += BinaryPrimitives.ReadUInt64LittleEndian(value);
                }

                BinaryPrimitives.WriteUInt64LittleEndian(value, hand);
                int err = _map.TryUpdate(key, value, UpdateFlags.NoExist);
                if (err == 0)
                {
                    break;
                }

                if (err != Errno.EEXIST)
                {
                    throw new BpfException(err, "BPF_MAP_UPDATE_ELEM");
                }
            }
        }
    }
}
