using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace BpfMaps.Programs;

/// <summary>
/// Measures how many counter increments each drain method loses while BPF programs write the map.
/// Writer threads run the ready-made <see cref="CounterProgram"/> through BPF_PROG_TEST_RUN in batches
/// of <see cref="DrainRaceOptions.RepeatPerRun"/> runs, each run adding to a pseudo-random key; one
/// drainer drains in a loop with the method under test. At the end, whatever the drainer took plus
/// whatever is left must equal what the writers produced; the difference is the loss.
/// </summary>
/// <remarks>
/// Needs root (or CAP_BPF + CAP_NET_ADMIN for XDP programs) and Linux 5.6 for the batch commands.
/// Each method gets fresh maps and a fresh program. Everything created is disposed before returning.
/// </remarks>
public static class DrainRace
{
    /// <summary>Runs every method in <see cref="DrainRaceOptions.Methods"/> in turn.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the current method early (its result still reconciles) and skips the rest.</param>
    /// <returns>One result per method run.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="BpfException">A map create, program load or test run failed.</exception>
    public static DrainRaceResult Run(DrainRaceOptions? options = null, CancellationToken cancellationToken = default)
        => Run(options, progress: null, cancellationToken);

    /// <summary>Runs every method in <see cref="DrainRaceOptions.Methods"/> in turn, reporting each result as it completes.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="progress">Receives each method's result when it is done (for live output); may be null.</param>
    /// <param name="cancellationToken">Stops the current method early (its result still reconciles) and skips the rest.</param>
    /// <returns>One result per method run.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="BpfException">A map create, program load or test run failed.</exception>
    public static DrainRaceResult Run(DrainRaceOptions? options, IProgress<DrainRaceMethodResult>? progress, CancellationToken cancellationToken = default)
        => RunAll(options, progress, RunMethod, cancellationToken);

    /// <summary>Runs each of the options' methods in turn with <paramref name="runMethod"/>; shared by both backends.</summary>
    internal static DrainRaceResult RunAll(DrainRaceOptions? options, IProgress<DrainRaceMethodResult>? progress,
        Func<DrainMethod, DrainRaceOptions, CancellationToken, DrainRaceMethodResult> runMethod, CancellationToken cancellationToken)
    {
        options ??= DrainRaceOptions.Default;
        Validate(options);
        var results = new List<DrainRaceMethodResult>();
        foreach (DrainMethod method in options.Methods)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            DrainRaceMethodResult r = runMethod(method, options, cancellationToken);
            results.Add(r);
            progress?.Report(r);
        }

        return new DrainRaceResult(options, results, PossibleCpus.Count);
    }

    /// <summary>The counter maps' spec: u32 keys, u64 counters, room for four times the keys.</summary>
    internal static MapSpec CounterSpec(DrainRaceOptions options) => new()
    {
        Type = options.PerCpu ? MapType.PerCpuHash : MapType.Hash,
        KeySize = 4,
        ValueSize = 8,
        MaxEntries = Math.Max(options.KeyCount * 4, 256),
        Name = "race_counters",
    };

    /// <summary>Runs one method.</summary>
    /// <param name="method">The method.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    /// <returns>Its result.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="BpfException">A map create, program load or test run failed.</exception>
    public static DrainRaceMethodResult RunMethod(DrainMethod method, DrainRaceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DrainRaceOptions.Default;
        Validate(options);
        MapSpec spec = CounterSpec(options);

        using BpfMap tally = BpfMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "race_tally" });
        var programOptions = new CounterProgramOptions
        {
            KeyCount = options.KeyCount,
            Increment = options.Increment,
            Tally = tally,
            Name = "race_counter",
        };

        BpfMap? counters = null;
        SwapDrainMap? swap = null;
        BpfProgram? program = null;
        try
        {
            ICounterMapDrainer drainer;
            if (method == DrainMethod.SwapDrain)
            {
                swap = SwapDrainMap.Create(spec, "race_slots");
                program = CounterProgram.Load(swap, programOptions);
                drainer = swap;
            }
            else
            {
                counters = BpfMap.Create(spec);
                program = CounterProgram.Load(counters, programOptions);
                drainer = new LiveCounterDrainer(counters, method switch
                {
                    DrainMethod.GetNextKeyLookupDelete => LiveDrainMethod.GetNextKeyLookupDelete,
                    DrainMethod.LookupAndDeleteBatch => LiveDrainMethod.LookupAndDeleteBatch,
                    _ => LiveDrainMethod.MapDrain,
                });
            }

            return Race(method, drainer, program, tally, options, cancellationToken);
        }
        finally
        {
            program?.Dispose();
            swap?.Dispose();
            counters?.Dispose();
        }
    }

    private static DrainRaceMethodResult Race(DrainMethod method, ICounterMapDrainer drainer, BpfProgram program, BpfMap tally,
        DrainRaceOptions options, CancellationToken cancellationToken)
    {
        var state = new DrainRaceState();
        long perCall = (long)options.RepeatPerRun * options.Increment;
        DrainLoopResult loop = RunDrainLoop(drainer, state, options, "drain-race writer", _ => Write(program, options, perCall, state), cancellationToken);
        long drained = loop.Drained, entries = loop.Entries, drains = loop.Drains, remaining = loop.Remaining;
        TimeSpan elapsed = loop.Elapsed;
        Span<byte> key = stackalloc byte[4];
        byte[] tallyValue = new byte[tally.ValueBufferSize];
        long byProgram = tally.TryLookup(key, tallyValue) ? (long)CounterValues.Sum(tallyValue, tally.Cpus) : 0;
        long produced = state.Interrupted == 0 ? Interlocked.Read(ref state.Produced) : byProgram;
        return new DrainRaceMethodResult(method, drainer.MethodName, produced, byProgram, drained, remaining, drains, entries, state.Interrupted, elapsed);
    }

    private static void Write(BpfProgram program, DrainRaceOptions options, long perCall, DrainRaceState state)
    {
        byte[] packet = CounterProgram.CreatePacket();
        try
        {
            while (!state.Stop)
            {
                int err = program.TestRunOrErrno(packet, Span<byte>.Empty, options.RepeatPerRun, out _);
                if (err == Errno.EINTR)
                {
                    // Some of the repeats ran, but how many is unknown: the program's tally decides.
                    Interlocked.Increment(ref state.InterruptedCount);
                    continue;
                }

                if (err != 0)
                {
                    throw new BpfException(err, BpfCommand.BPF_PROG_TEST_RUN);
                }

                long total = Interlocked.Add(ref state.Produced, perCall);
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

    /// <summary>
    /// Starts one writer thread per <see cref="DrainRaceOptions.Writers"/>, drains with
    /// <paramref name="drainer"/> until the writers stop (their budget or the duration), joins them,
    /// rethrows a writer's failure, and reads what remains. Shared by the kernel and in-process races.
    /// </summary>
    internal static DrainLoopResult RunDrainLoop(ICounterMapDrainer drainer, DrainRaceState state, DrainRaceOptions options,
        string threadName, Action<int> write, CancellationToken cancellationToken)
    {
        var writers = new Thread[options.Writers];
        for (int i = 0; i < writers.Length; i++)
        {
            int index = i;
            writers[i] = new Thread(() => write(index)) { IsBackground = true, Name = $"{threadName} {i}" };
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
}
