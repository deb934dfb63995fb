using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using BpfMaps.InProcess;
using BpfMaps.Programs;

namespace BpfMaps.Measurements;

/// <summary>
/// Measures how many counter increments each drain method loses while writers add to the map. Writer
/// threads add in batches of <see cref="DrainRaceOptions.RepeatPerRun"/> increments, each to a pseudo-random
/// key; one drainer drains in a loop with the method under test. At the end, whatever the drainer took plus
/// whatever is left must equal what the writers produced; the difference is the loss.
/// </summary>
/// <remarks>
/// <para>
/// One loop for every backend: a <see cref="DrainRaceTargetFactory"/> says how the maps and their writers are
/// made. <see cref="DrainRaceTargetFactory.Kernel"/> runs the ready-made <see cref="CounterProgram"/> through
/// BPF_PROG_TEST_RUN (needs root, or CAP_BPF + CAP_NET_ADMIN, and Linux 5.6 for the batch commands);
/// <see cref="DrainRaceTargetFactory.InProcess"/> adds with the in-process engine's atomic add, for machines
/// without bpf().
/// </para>
/// <para>
/// Each method gets fresh maps (and for the kernel, a fresh program). Everything created is disposed before returning.
/// </para>
/// </remarks>
public static class DrainRace
{
    /// <summary>Runs every method in <see cref="DrainRaceOptions.Methods"/> in turn on kernel maps.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the current method early (its result still reconciles) and skips the rest.</param>
    /// <returns>One result per method run.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="BpfException">A map create, program load or test run failed.</exception>
    public static DrainRaceResult Run(DrainRaceOptions? options = null, CancellationToken cancellationToken = default)
        => Run(options, DrainRaceTargetFactory.Kernel, progress: null, cancellationToken);

    /// <summary>Runs every method in <see cref="DrainRaceOptions.Methods"/> in turn on kernel maps, reporting each result as it completes.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="progress">Receives each method's result when it is done (for live output); may be null.</param>
    /// <param name="cancellationToken">Stops the current method early (its result still reconciles) and skips the rest.</param>
    /// <returns>One result per method run.</returns>
    public static DrainRaceResult Run(DrainRaceOptions? options, IProgress<DrainRaceMethodResult>? progress, CancellationToken cancellationToken = default)
        => Run(options, DrainRaceTargetFactory.Kernel, progress, cancellationToken);

    /// <summary>Runs every method in <see cref="DrainRaceOptions.Methods"/> in turn on the maps <paramref name="factory"/> makes.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="factory">Makes each method's maps and writers.</param>
    /// <param name="progress">Receives each method's result when it is done; may be null.</param>
    /// <param name="cancellationToken">Stops the current method early (its result still reconciles) and skips the rest.</param>
    /// <returns>One result per method run.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static DrainRaceResult Run(DrainRaceOptions? options, DrainRaceTargetFactory factory, IProgress<DrainRaceMethodResult>? progress,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        options ??= DrainRaceOptions.Default;
        Validate(options);
        var results = new List<DrainRaceMethodResult>();
        foreach (DrainMethod method in options.Methods)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            DrainRaceMethodResult r = RunMethod(method, options, factory, cancellationToken);
            results.Add(r);
            progress?.Report(r);
        }

        return new DrainRaceResult(options, results, factory.PossibleCpus);
    }

    /// <summary>Runs one method on kernel maps.</summary>
    /// <param name="method">The method.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    /// <returns>Its result.</returns>
    public static DrainRaceMethodResult RunMethod(DrainMethod method, DrainRaceOptions? options = null, CancellationToken cancellationToken = default)
        => RunMethod(method, options, DrainRaceTargetFactory.Kernel, cancellationToken);

    /// <summary>Runs one method on the maps <paramref name="factory"/> makes.</summary>
    /// <param name="method">The method.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="factory">Makes the maps and writers.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    /// <returns>Its result.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static DrainRaceMethodResult RunMethod(DrainMethod method, DrainRaceOptions? options, DrainRaceTargetFactory factory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        options ??= DrainRaceOptions.Default;
        Validate(options);
        using DrainRaceTarget target = factory.Create(method, CounterSpec(options), options);
        var state = new DrainRaceState();
        DrainLoopResult loop = RunDrainLoop(target, state, options, cancellationToken);
        long byProgram = target.ProducedByWriters() ?? Interlocked.Read(ref state.Produced);
        long produced = state.Interrupted == 0 ? Interlocked.Read(ref state.Produced) : byProgram;
        return new DrainRaceMethodResult(method, target.Drainer.MethodName, produced, byProgram, loop.Drained, loop.Remaining, loop.Drains,
            loop.Entries, state.Interrupted, loop.Elapsed);
    }

    /// <summary>The counter maps' spec: u32 keys, u64 counters, room for four times the keys.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The spec.</returns>
    public static MapSpec CounterSpec(DrainRaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new()
        {
            Type = options.PerCpu ? MapType.PerCpuHash : MapType.Hash,
            KeySize = 4,
            ValueSize = 8,
            MaxEntries = Math.Max(options.KeyCount * 4, 256),
            Name = "race_counters",
        };
    }

    internal static void Validate(DrainRaceOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Writers < 1)
        {
            throw new ArgumentException($"writers {o.Writers} must be at least 1", nameof(o));
        }

        if (o.KeyCount < 1 || o.RepeatPerRun < 1 || o.Increment < 1)
        {
            throw new ArgumentException($"key count ({o.KeyCount}), repeat per run ({o.RepeatPerRun}) and increment ({o.Increment}) must be positive", nameof(o));
        }

        if (o.DurationPerMethod <= TimeSpan.Zero && o.IncrementsPerMethod <= 0)
        {
            throw new ArgumentException("give a positive duration or an increment limit", nameof(o));
        }
    }

    private static void Write(DrainRaceTarget target, int index, DrainRaceOptions options, DrainRaceState state)
    {
        long perBatch = (long)options.RepeatPerRun * options.Increment;
        try
        {
            using DrainRaceWriter writer = target.CreateWriter(index);
            while (!state.Stop)
            {
                int err = writer.WriteBatch();
                if (err == Errno.EINTR)
                {
                    // Some of the batch ran, but how many is unknown: the target's own tally decides.
                    Interlocked.Increment(ref state.InterruptedCount);
                    continue;
                }

                if (err != 0)
                {
                    throw target.WriteFailure(err);
                }

                long total = Interlocked.Add(ref state.Produced, perBatch);
                if (options.IncrementsPerMethod > 0 && total >= options.IncrementsPerMethod)
                {
                    state.Stop = true;
                }
            }
        }
        catch (Exception e) when (e is BpfException or ObjectDisposedException)
        {
            state.Error ??= e;
            state.Stop = true;
        }
    }

    /// <summary>
    /// Starts one writer thread per <see cref="DrainRaceOptions.Writers"/>, drains until the writers stop (their
    /// budget or the duration), joins them, rethrows a writer's failure, and reads what remains.
    /// </summary>
    private static DrainLoopResult RunDrainLoop(DrainRaceTarget target, DrainRaceState state, DrainRaceOptions options, CancellationToken cancellationToken)
    {
        ICounterMapDrainer drainer = target.Drainer;
        var writers = new Thread[options.Writers];
        for (int i = 0; i < writers.Length; i++)
        {
            int index = i;
            writers[i] = new Thread(() => Write(target, index, options, state)) { IsBackground = true, Name = $"{target.WriterName} {i}" };
        }

        long drained = 0, entries = 0, drains = 0;
        var clock = Stopwatch.StartNew();

        // The deadline and Ctrl+C stop the writers themselves, not only the drain loop: with more busy
        // writers than CPUs the drainer gets little CPU, and a pass that waits for it would run on long
        // past the deadline while the writers keep producing.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.DurationPerMethod > TimeSpan.Zero)
        {
            stop.CancelAfter(options.DurationPerMethod);
        }

        using CancellationTokenRegistration onStop = stop.Token.Register(() => state.Stop = true);
        foreach (Thread t in writers)
        {
            t.Start();
        }

        try
        {
            while (!state.Stop)
            {
                CounterDrainPass pass = drainer.DrainCounters();
                drained += (long)pass.Total;
                entries += pass.Entries;
                drains++;
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                if (options.DrainInterval > TimeSpan.Zero)
                {
                    stop.Token.WaitHandle.WaitOne(options.DrainInterval);
                }
            }
        }
        finally
        {
            state.Stop = true;
            foreach (Thread t in writers)
            {
                t.Join();
            }
        }

        TimeSpan elapsed = clock.Elapsed;
        if (state.Error is { } error)
        {
            ExceptionDispatchInfo.Capture(error).Throw();
        }

        return new DrainLoopResult(drained, entries, drains, (long)drainer.PeekTotals().Total, elapsed);
    }

    /// <summary>What the writers and the drainer of one race share.</summary>
    private sealed class DrainRaceState
    {
        private volatile bool _stop;
#pragma warning disable CA1051 // fields, so writers can Interlocked on them
        public long Produced;
        public long InterruptedCount;
        public Exception? Error;
#pragma warning restore CA1051

        public bool Stop
        {
            get => _stop;
            set => _stop = value;
        }

        public long Interrupted => Interlocked.Read(ref InterruptedCount);
    }

    /// <summary>What the drain loop of one race measured.</summary>
    private readonly record struct DrainLoopResult(long Drained, long Entries, long Drains, long Remaining, TimeSpan Elapsed);
}

/// <summary>Makes the maps and writers of one drain-race method: the only thing the backends differ in.</summary>
public abstract class DrainRaceTargetFactory
{
    /// <summary>Kernel maps, written by <see cref="CounterProgram"/> through BPF_PROG_TEST_RUN.</summary>
    public static DrainRaceTargetFactory Kernel { get; } = new KernelTargets();

    /// <summary>In-process maps (<see cref="InProcessMap"/>, <see cref="InProcessSwapDrainMap"/>), written with the engine's atomic add.</summary>
    public static DrainRaceTargetFactory InProcess { get; } = new InProcessTargets();

    /// <summary>The CPU count per-CPU maps of this backend use.</summary>
    public virtual int PossibleCpus => BpfMaps.PossibleCpus.Count;

    /// <summary>Makes the maps, drainer and writers for <paramref name="method"/>.</summary>
    /// <param name="method">The drain method.</param>
    /// <param name="spec">The counter map's spec (<see cref="DrainRace.CounterSpec"/>).</param>
    /// <param name="options">The race's options.</param>
    /// <returns>The target; disposed by the race.</returns>
    public abstract DrainRaceTarget Create(DrainMethod method, MapSpec spec, DrainRaceOptions options);

    /// <summary>The live drainer for the methods that drain the map in place.</summary>
    /// <param name="counters">The counter map.</param>
    /// <param name="method">A method other than <see cref="DrainMethod.SwapDrain"/>.</param>
    /// <returns>The drainer.</returns>
    protected static LiveCounterDrainer LiveDrainer(BpfMap counters, DrainMethod method) => new(counters, method switch
    {
        DrainMethod.GetNextKeyLookupDelete => LiveDrainMethod.GetNextKeyLookupDelete,
        DrainMethod.LookupAndDeleteBatch => LiveDrainMethod.LookupAndDeleteBatch,
        _ => LiveDrainMethod.MapDrain,
    });

    private sealed class KernelTargets : DrainRaceTargetFactory
    {
        public override DrainRaceTarget Create(DrainMethod method, MapSpec spec, DrainRaceOptions options)
        {
            var disposables = new List<IDisposable>();
            try
            {
                BpfMap tally = BpfMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "race_tally" });
                disposables.Add(tally);
                var programOptions = new CounterProgramOptions { KeyCount = options.KeyCount, Increment = options.Increment, Tally = tally, Name = "race_counter" };
                ICounterMapDrainer drainer;
                BpfProgram program;
                if (method == DrainMethod.SwapDrain)
                {
                    SwapDrainMap swap = SwapDrainMap.Create(spec, "race_slots");
                    disposables.Add(swap);
                    program = CounterProgram.Load(swap, programOptions);
                    drainer = swap;
                }
                else
                {
                    BpfMap counters = BpfMap.Create(spec);
                    disposables.Add(counters);
                    program = CounterProgram.Load(counters, programOptions);
                    drainer = LiveDrainer(counters, method);
                }

                // The program first: it holds the maps.
                disposables.Insert(0, program);
                return new KernelTarget(drainer, program, tally, options, disposables);
            }
            catch
            {
                foreach (IDisposable d in disposables)
                {
                    d.Dispose();
                }

                throw;
            }
        }
    }

    private sealed class KernelTarget(ICounterMapDrainer drainer, BpfProgram program, BpfMap tally, DrainRaceOptions options, List<IDisposable> owned)
        : DrainRaceTarget(drainer, "drain-race writer", static errno => BpfException.ForErrno(errno, BpfCommand.BPF_PROG_TEST_RUN))
    {
        public override DrainRaceWriter CreateWriter(int index) => new ProgramWriter(program, options.RepeatPerRun);

        public override long? ProducedByWriters()
        {
            Span<byte> key = stackalloc byte[4];
            byte[] value = new byte[tally.ValueBufferSize];
            if (!tally.TryLookup(key, value))
            {
                return 0;
            }

            ulong total = 0;
            for (int cpu = 0; cpu < tally.Cpus; cpu++)
            {
                total += BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan(cpu * 8, 8));
            }

            return (long)total;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                foreach (IDisposable d in owned)
                {
                    d.Dispose();
                }
            }

            base.Dispose(disposing);
        }
    }

    private sealed class ProgramWriter(BpfProgram program, int repeat) : DrainRaceWriter
    {
        private readonly byte[] _packet = CounterProgram.CreatePacket();

        public override int WriteBatch() => program.TestRunOrErrno(_packet, Span<byte>.Empty, repeat, out _);
    }

    private sealed class InProcessTargets : DrainRaceTargetFactory
    {
        public override DrainRaceTarget Create(DrainMethod method, MapSpec spec, DrainRaceOptions options)
        {
            if (method == DrainMethod.SwapDrain)
            {
                InProcessSwapDrainMap swap = InProcessSwapDrainMap.Create(spec, outerName: "race_slots");
                return new InProcessTarget(swap, swap.Add, options, swap);
            }

            BpfMap counters = InProcessMap.Create(spec);
            return new InProcessTarget(LiveDrainer(counters, method), (key, delta) => InProcessMap.AtomicAdd(counters, key, delta), options, counters);
        }
    }

    private delegate void Adder(ReadOnlySpan<byte> key, ulong delta);

    private sealed class InProcessTarget(ICounterMapDrainer drainer, Adder add, DrainRaceOptions options, IDisposable owned)
        : DrainRaceTarget(drainer, "in-process drain-race writer", static errno => BpfException.ForErrno(errno, KernelCall.AtomicAdd))
    {
        public override DrainRaceWriter CreateWriter(int index) => new AddWriter(add, options, index);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                owned.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class AddWriter(Adder add, DrainRaceOptions options, int seed) : DrainRaceWriter
    {
        private readonly Random _random = new(seed);
        private readonly byte[] _key = new byte[4];

        public override int WriteBatch()
        {
            for (int i = 0; i < options.RepeatPerRun; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(_key, (uint)_random.Next(options.KeyCount));
                add(_key, (ulong)options.Increment);
            }

            return 0;
        }
    }
}

/// <summary>The maps of one drain-race method: the drainer under test and how its writers add.</summary>
/// <param name="drainer">The drainer under test.</param>
/// <param name="writerName">Writer threads' name prefix.</param>
/// <param name="writeFailure">The exception a writer's errno is reported as.</param>
public abstract class DrainRaceTarget(ICounterMapDrainer drainer, string writerName, Func<int, BpfException> writeFailure) : IDisposable
{
    /// <summary>The drainer under test.</summary>
    public ICounterMapDrainer Drainer { get; } = drainer;

    /// <summary>Writer threads' name prefix.</summary>
    public string WriterName { get; } = writerName;

    /// <summary>The exception a writer's errno is reported as, naming the call that failed.</summary>
    /// <param name="errno">The writer's errno.</param>
    /// <returns>The exception, not thrown.</returns>
    public BpfException WriteFailure(int errno) => writeFailure(errno);

    /// <summary>A writer for one thread.</summary>
    /// <param name="index">The writer's index (a seed for its keys).</param>
    /// <returns>The writer; disposed by its thread.</returns>
    public abstract DrainRaceWriter CreateWriter(int index);

    /// <summary>What the writers' own tally says they added (the BPF program's count), or null when only the race's count exists.</summary>
    /// <returns>The count, or null.</returns>
    public virtual long? ProducedByWriters() => null;

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the maps (and program) the target made.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>One writer thread's way of adding a batch of <see cref="DrainRaceOptions.RepeatPerRun"/> increments.</summary>
public abstract class DrainRaceWriter : IDisposable
{
    /// <summary>Adds one batch.</summary>
    /// <returns>0, EINTR when an unknown part of the batch ran, or another errno.</returns>
    public abstract int WriteBatch();

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the writer holds.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}
