using System.Buffers.Binary;
using BpfMaps.Programs;

namespace BpfMaps.InProcess;

/// <summary>
/// <see cref="DrainRace"/> on the in-process engine, for machines where bpf() is unavailable: writer
/// threads add to in-process maps with the engine's atomic add instead of running the counter program
/// through BPF_PROG_TEST_RUN, and one drainer drains in a loop with the method under test. Takes the same
/// <see cref="DrainRaceOptions"/> and returns the same results, so the same renderers print them.
/// </summary>
/// <remarks>
/// <para>
/// Each writer loops: <see cref="DrainRaceOptions.RepeatPerRun"/> adds of <see cref="DrainRaceOptions.Increment"/>
/// to pseudo-random keys below <see cref="DrainRaceOptions.KeyCount"/>, then it counts them as produced.
/// <see cref="DrainRaceMethodResult.ProducedByProgram"/> is the writers' own tally (adds completed), and
/// <see cref="DrainRaceMethodResult.InterruptedRuns"/> is always 0.
/// </para>
/// <para>
/// What differs from the kernel: the engine's atomic add takes the same bucket lock as its
/// lookup-and-delete, so the live batch and <see cref="BpfMap.Drain"/> methods lose nothing here, unlike
/// a BPF program that adds through a pointer it looked up earlier. get_next_key + lookup + delete still
/// loses what lands between its lookup and its delete. <see cref="DrainMethod.SwapDrain"/> uses
/// <see cref="InProcessSwapDrainMap"/>.
/// </para>
/// </remarks>
public static class InProcessDrainRace
{
    /// <summary>Runs every method in <see cref="DrainRaceOptions.Methods"/> in turn on in-process maps.</summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="progress">Receives each method's result when it is done; may be null.</param>
    /// <param name="cancellationToken">Stops the current method early (its result still reconciles) and skips the rest.</param>
    /// <returns>One result per method run; <see cref="DrainRaceResult.PossibleCpus"/> is the CPU count per-CPU maps use.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static DrainRaceResult Run(DrainRaceOptions? options = null, IProgress<DrainRaceMethodResult>? progress = null, CancellationToken cancellationToken = default)
        => DrainRace.RunAll(options, progress, RunMethod, cancellationToken);

    /// <summary>Runs one method on in-process maps.</summary>
    /// <param name="method">The method.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    /// <returns>Its result.</returns>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static DrainRaceMethodResult RunMethod(DrainMethod method, DrainRaceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= DrainRaceOptions.Default;
        DrainRace.Validate(options);
        MapSpec spec = DrainRace.CounterSpec(options);

        if (method == DrainMethod.SwapDrain)
        {
            using InProcessSwapDrainMap swap = InProcessSwapDrainMap.Create(spec, outerName: "race_slots");
            return Race(method, swap, swap.Add, options, cancellationToken);
        }

        using BpfMap counters = InProcessMap.Create(spec);
        var drainer = new LiveCounterDrainer(counters, method switch
        {
            DrainMethod.GetNextKeyLookupDelete => LiveDrainMethod.GetNextKeyLookupDelete,
            DrainMethod.LookupAndDeleteBatch => LiveDrainMethod.LookupAndDeleteBatch,
            _ => LiveDrainMethod.MapDrain,
        });
        return Race(method, drainer, (key, delta) => InProcessMap.AtomicAdd(counters, key, delta), options, cancellationToken);
    }

    private delegate void Adder(ReadOnlySpan<byte> key, ulong delta);

    private static DrainRaceMethodResult Race(DrainMethod method, ICounterMapDrainer drainer, Adder add, DrainRaceOptions options, CancellationToken cancellationToken)
    {
        var state = new DrainRaceState();
        DrainLoopResult loop = DrainRace.RunDrainLoop(drainer, state, options, "in-process drain-race writer", seed => Write(add, options, seed, state), cancellationToken);
        long drained = loop.Drained, entries = loop.Entries, drains = loop.Drains, remaining = loop.Remaining;
        TimeSpan elapsed = loop.Elapsed;
        long produced = Interlocked.Read(ref state.Produced);
        return new DrainRaceMethodResult(method, drainer.MethodName, produced, produced, drained, remaining, drains, entries, 0, elapsed);
    }

    private static void Write(Adder add, DrainRaceOptions options, int seed, DrainRaceState state)
    {
        var rnd = new Random(seed);
        Span<byte> key = stackalloc byte[4];
        long perBatch = (long)options.RepeatPerRun * options.Increment;
        try
        {
            while (!state.Stop)
            {
                for (int i = 0; i < options.RepeatPerRun; i++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(key, (uint)rnd.Next(options.KeyCount));
                    add(key, (ulong)options.Increment);
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
}
