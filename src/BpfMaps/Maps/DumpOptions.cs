namespace BpfMaps;

/// <summary>How a dump or drain reads the map.</summary>
public enum DumpMethod
{
    /// <summary>The batch commands where the map type and kernel have them, else get_next_key.</summary>
    Auto,
    /// <summary>Only the batch commands; fail if they are missing.</summary>
    Batch,
    /// <summary>get_next_key plus lookup, with restart detection.</summary>
    GetNextKey,
}

/// <summary>
/// What a get_next_key walk does when it detects that the kernel started again from the first
/// key (because the previous key was deleted meanwhile). Whatever the policy, a pass never
/// emits a key twice and always ends.
/// </summary>
public enum RestartPolicy
{
    /// <summary>Throw <see cref="MapIterationRestartedException"/>.</summary>
    Fail,
    /// <summary>Continue from the most recent key already emitted in this pass that still exists.</summary>
    ResumeFromEarlierKey,
    /// <summary>Walk again from the first key, skipping keys already emitted.</summary>
    StartOverSkippingSeen,
}

/// <summary>How <see cref="BpfMap.Drain"/> treats arrays, whose elements cannot be deleted.</summary>
public enum ArrayDrainMode
{
    /// <summary>Refuse: draining an array throws <see cref="NotSupportedException"/>.</summary>
    Refuse,
    /// <summary>
    /// Read a batch, then write zeros over it. Not atomic: an increment landing between the read
    /// and the zeroing is lost. Use a swap drain where that matters.
    /// </summary>
    ReadThenZero,
}

/// <summary>Options of <see cref="BpfMap.Dump"/> and <see cref="BpfMap.Drain"/>.</summary>
public sealed record DumpOptions
{
    /// <summary>
    /// Entries per batch call when the caller does not choose. Measured with BenchmarkDotNet over
    /// batch sizes 64..16384 (docs/performance.md): 1024 was fastest; smaller sizes pay more syscalls,
    /// larger ones spill out of cache and cost memory.
    /// </summary>
    public const int DefaultBatchSize = 1024;

    /// <summary>The shared default options.</summary>
    public static DumpOptions Default { get; } = new();

    /// <summary>Entries per batch call to start with; grown automatically on ENOSPC.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>Batch commands, get_next_key, or automatic choice.</summary>
    public DumpMethod Method { get; init; } = DumpMethod.Auto;

    /// <summary>What the get_next_key walk does on a detected restart.</summary>
    public RestartPolicy OnRestart { get; init; } = RestartPolicy.ResumeFromEarlierKey;

    /// <summary>Restarts tolerated before the walk gives up with <see cref="MapIterationRestartedException"/>.</summary>
    public int MaxRestarts { get; init; } = 1000;

    /// <summary>Lookup flags (Lock) for every element.</summary>
    public LookupFlags Flags { get; init; }

    /// <summary>How a drain treats arrays.</summary>
    public ArrayDrainMode ArrayDrain { get; init; } = ArrayDrainMode.Refuse;
}
