using BpfMaps.Programs;

namespace BpfMaps.Measurements;

/// <summary>Options of <see cref="DrainRace.Run(DrainRaceOptions?, CancellationToken)"/>.</summary>
public sealed record DrainRaceOptions
{
    /// <summary>The shared defaults: 2 writers, 64 keys, 3 seconds per method, all four methods.</summary>
    public static DrainRaceOptions Default { get; } = new();

    /// <summary>Writer threads, each calling BPF_PROG_TEST_RUN on the counter program in a loop.</summary>
    public int Writers { get; init; } = 2;

    /// <summary>How long each method runs. The run also stops at <see cref="IncrementsPerMethod"/>, whichever comes first.</summary>
    public TimeSpan DurationPerMethod { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Stop each method once this many increments were produced; 0 for no limit (time only).</summary>
    public long IncrementsPerMethod { get; init; }

    /// <summary>Distinct counter keys (the program draws <c>prandom % KeyCount</c>).</summary>
    public int KeyCount { get; init; } = 64;

    /// <summary>Program runs per BPF_PROG_TEST_RUN call (<c>repeat</c>).</summary>
    public int RepeatPerRun { get; init; } = 1000;

    /// <summary>What one program run adds.</summary>
    public int Increment { get; init; } = 1;

    /// <summary>Use per-CPU hash maps instead of hash maps.</summary>
    public bool PerCpu { get; init; }

    /// <summary>Pause between drain passes; zero drains back to back.</summary>
    public TimeSpan DrainInterval { get; init; } = TimeSpan.Zero;

    /// <summary>Methods to run, in order.</summary>
    public IReadOnlyList<DrainMethod> Methods { get; init; } =
        [DrainMethod.GetNextKeyLookupDelete, DrainMethod.LookupAndDeleteBatch, DrainMethod.MapDrain, DrainMethod.SwapDrain];
}
