using BpfMaps.Cli.Watch;

namespace BpfMaps.Cli.Demo;

/// <summary>
/// What <c>demo</c> runs: writers that count into a map, and the source <c>watch</c> drains. The seam
/// between the demo's screen and where the counting happens (BPF programs on every CPU, user-space
/// writers, or the in-process engine).
/// </summary>
internal interface IDemoWorkload : IDisposable
{
    /// <summary>One line saying what runs where.</summary>
    string Description { get; }

    /// <summary>What watch drains each tick.</summary>
    IWatchSource Source { get; }

    /// <summary>Starts the writers.</summary>
    void Start();

    /// <summary>Stops the writers and waits for them; after this <see cref="Produced"/> is final.</summary>
    void Stop();

    /// <summary>Total count the writers added.</summary>
    long Produced { get; }

    /// <summary>Drains what is still in the map after <see cref="Stop"/>.</summary>
    /// <returns>The sum of the remaining counts.</returns>
    long DrainRemaining();
}
