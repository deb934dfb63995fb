using System.Buffers.Binary;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Watch;
using BpfMaps.InProcess;

namespace BpfMaps.Cli.Demo;

/// <summary>
/// The same demo where bpf() is not available: an in-process hash map, writer threads that add with
/// <see cref="InProcessMap.AtomicAdd(BpfMap, ReadOnlySpan{byte}, ulong)"/> (what a BPF program's atomic add
/// does), drained with the same batch drain each tick.
/// </summary>
internal sealed class InProcessWorkload : IDemoWorkload
{
    private const int Keys = 32;
    private readonly BpfMap _map;
    private readonly int _writers;
    private readonly string _why;
    private readonly WriterThreads _threads = new();
    private long _produced;

    /// <summary>Creates the map.</summary>
    /// <param name="writers">Writer threads.</param>
    /// <param name="why">Why the kernel is not used.</param>
    public InProcessWorkload(int writers, string why)
    {
        _writers = writers;
        _why = why;
        _map = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 256, Name = "demo_counts" });
        Source = new MapWatchSource(_map, drain: true, new EntryLayout(4, 8));
    }

    /// <inheritdoc />
    public string Description => $"in-process engine ({_why}): hash map, {_writers} writer threads adding atomically, drained with LOOKUP_AND_DELETE_BATCH semantics";

    /// <inheritdoc />
    public IWatchSource Source { get; }

    /// <inheritdoc />
    public long Produced => Interlocked.Read(ref _produced);

    /// <inheritdoc />
    public void Start() => _threads.Start(_writers, "demo-inproc-writer", Write);

    /// <inheritdoc />
    public void Stop()
    {
        _threads.StopAndJoin();
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
        while (!_threads.Stopping)
        {
            uint k = (uint)Math.Min(Keys - 1, (int)(-Math.Log(1 - rng.NextDouble()) * 4));
            BinaryPrimitives.WriteUInt32LittleEndian(key, k);
            ulong inc = (ulong)rng.Next(1, 10);
            InProcessMap.AtomicAdd(_map, key, inc);
            Interlocked.Add(ref _produced, (long)inc);
        }
    }
}
