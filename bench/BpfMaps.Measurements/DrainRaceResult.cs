using BpfMaps.Programs;

namespace BpfMaps.Measurements;

/// <summary>The outcome of one drain method in a <see cref="DrainRace"/>.</summary>
/// <param name="Method">The method.</param>
/// <param name="MethodName">Its display name.</param>
/// <param name="Produced">Increments produced: completed test-run repeats × increment, or the program's own tally if a run was interrupted.</param>
/// <param name="ProducedByProgram">Increments the program tallied in its per-CPU tally array (an independent count).</param>
/// <param name="Drained">Sum of what the drainer took out while the writers ran.</param>
/// <param name="Remaining">Sum of what was left in the map(s) after the writers stopped.</param>
/// <param name="Drains">Drain passes made.</param>
/// <param name="DrainedEntries">Entries taken out over all passes.</param>
/// <param name="InterruptedRuns">Test runs that returned EINTR (their repeat count is unknown).</param>
/// <param name="Elapsed">How long the writers ran.</param>
public sealed record DrainRaceMethodResult(
    DrainMethod Method,
    string MethodName,
    long Produced,
    long ProducedByProgram,
    long Drained,
    long Remaining,
    long Drains,
    long DrainedEntries,
    long InterruptedRuns,
    TimeSpan Elapsed)
{
    /// <summary>Drained plus remaining.</summary>
    public long Counted => Drained + Remaining;

    /// <summary>Produced minus counted (negative would mean double counting).</summary>
    public long Lost => Produced - Counted;

    /// <summary>Lost as a percentage of produced.</summary>
    public double LostPercent => Produced == 0 ? 0 : 100.0 * Lost / Produced;

    /// <summary>Drain passes per second.</summary>
    public double DrainsPerSecond => Elapsed > TimeSpan.Zero ? Drains / Elapsed.TotalSeconds : 0;

    /// <summary>Entries drained per second.</summary>
    public double DrainedEntriesPerSecond => Elapsed > TimeSpan.Zero ? DrainedEntries / Elapsed.TotalSeconds : 0;

    /// <summary>Increments produced per second, all writers together.</summary>
    public double IncrementsPerSecond => Elapsed > TimeSpan.Zero ? Produced / Elapsed.TotalSeconds : 0;
}

/// <summary>The outcome of <see cref="DrainRace.Run(DrainRaceOptions?, CancellationToken)"/>: one row per method.</summary>
/// <param name="Options">The options it ran with.</param>
/// <param name="Methods">One result per method, in the order run.</param>
/// <param name="PossibleCpus">Possible CPUs of the machine.</param>
public sealed record DrainRaceResult(DrainRaceOptions Options, IReadOnlyList<DrainRaceMethodResult> Methods, int PossibleCpus);
