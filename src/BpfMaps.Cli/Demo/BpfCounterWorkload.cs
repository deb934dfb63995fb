using BpfMaps.Cli.Watch;
using BpfMaps.Programs;

namespace BpfMaps.Cli.Demo;

/// <summary>
/// The real thing: a double-buffered counter map (<see cref="SwapDrainMap"/>), the ready-made BPF counter
/// program, and one writer thread per CPU running it with BPF_PROG_TEST_RUN. The program also adds every
/// increment to a per-CPU tally array, which is what "produced" is read from. Keys come from the packet,
/// and writers pick them with a skew, so the watch has hot and cold keys.
/// </summary>
internal sealed class BpfCounterWorkload : IDemoWorkload
{
    private const int Keys = 32;
    private const int RepeatPerRun = 256;
    private readonly SwapDrainMap _swap;
    private readonly BpfMap _tally;
    private readonly BpfProgram _program;
    private readonly int _writers;
    private readonly WriterThreads _threads = new();
    private Exception? _error;

    /// <summary>Creates the maps and loads the program.</summary>
    /// <param name="writers">Writer threads (one per CPU).</param>
    public BpfCounterWorkload(int writers)
    {
        _writers = writers;
        _swap = SwapDrainMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 256, Name = "demo_counts" }, "demo_slots");
        try
        {
            _tally = BpfMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "demo_tally" });
            _program = CounterProgram.Load(_swap, new CounterProgramOptions { KeySource = CounterKeySource.PacketData, KeyCount = Keys, Tally = _tally, Name = "demo_counter" });
        }
        catch
        {
            _tally?.Dispose();
            _swap.Dispose();
            throw;
        }

        Source = new SwapDrainWatchSource(_swap, $"double-buffered counter map {_swap.Outer.Id}, swap-drained each tick", owns: false);
    }

    /// <inheritdoc />
    public string Description => $"kernel: double-buffered counter map {_swap.Outer.Id} (array_of_maps + 2 hash maps), BPF counter program '{_program.Name}' run by BPF_PROG_TEST_RUN on {_writers} writer threads (one per CPU)";

    /// <inheritdoc />
    public IWatchSource Source { get; }

    /// <inheritdoc />
    public long Produced
    {
        get
        {
            byte[] v = new byte[_tally.ValueBufferSize];
            if (!_tally.TryLookup([0, 0, 0, 0], v))
            {
                return 0;
            }

            long sum = 0;
            for (int c = 0; c < _tally.Cpus; c++)
            {
                sum += BitConverter.ToInt64(v, c * _tally.ValueStride);
            }

            return sum;
        }
    }

    /// <inheritdoc />
    public void Start() => _threads.Start(_writers, "demo-bpf-writer", Write);

    /// <inheritdoc />
    public void Stop()
    {
        _threads.StopAndJoin();

        if (_error is { } e)
        {
            throw e;
        }
    }

    /// <inheritdoc />
    public long DrainRemaining() => (long)_swap.DrainCounters().Total + (long)_swap.DrainCounters().Total;

    /// <inheritdoc />
    public void Dispose()
    {
        _program.Dispose();
        _tally.Dispose();
        _swap.Dispose();
    }

    private void Write(int seed)
    {
        var rng = new Random(seed);
        var packets = new byte[Keys][];
        for (uint k = 0; k < Keys; k++)
        {
            packets[k] = CounterProgram.CreatePacket(k);
        }

        try
        {
            while (!_threads.Stopping)
            {
                int k = Math.Min(Keys - 1, (int)(-Math.Log(1 - rng.NextDouble()) * 4));
                int err = _program.TestRunOrErrno(packets[k], Span<byte>.Empty, RepeatPerRun, out _);
                if (err != 0 && err != Errno.EINTR)
                {
                    throw new BpfException(err, BpfCommand.BPF_PROG_TEST_RUN);
                }
            }
        }
        catch (BpfException e)
        {
            _error ??= e;
        }
    }
}
