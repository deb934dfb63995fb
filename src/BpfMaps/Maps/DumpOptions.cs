namespace BpfMaps;

/// <summary>How a dump or drain reads the map.</summary>
public enum DumpMethod
{
    /// <summary>The batch commands where the map type and kernel have them, else get_next_key.</summary>
    Auto,
    /// <summary>Only the batch commands; fail if they are missing.</summary>
    Batch,
    /// <summary>
    /// BPF_MAP_GET_NEXT_KEY plus BPF_MAP_LOOKUP_ELEM (a drain: BPF_MAP_LOOKUP_AND_DELETE_ELEM, 5.14, or
    /// lookup then delete before), two syscalls per entry, on every kernel. Survives concurrent
    /// writers: see <see cref="RestartPolicy"/> and docs/dump-drain.md.
    /// </summary>
    GetNextKey,
}

/// <summary>
/// What a get_next_key walk does on a restart: BPF_MAP_GET_NEXT_KEY answered with the first key of
/// the map because the key the walk stood on was deleted meanwhile.
/// <para>
/// Whatever the policy, a pass emits no key twice, emits exactly once every key that is in the map
/// for the whole pass and whose element is not replaced during it, and ends: it completes, or throws
/// <see cref="MapIterationRestartedException"/> after the entries it read (see
/// <see cref="DumpOptions.MaxRestarts"/>). A key re-inserted at the head of its bucket (which a
/// delete and insert, or on a hash map any update, does) sends the walk back over that bucket only;
/// that is not a restart, under any policy.
/// </para>
/// </summary>
public enum RestartPolicy
{
    /// <summary>Throw <see cref="MapIterationRestartedException"/> at the first restart.</summary>
    Fail,

    /// <summary>
    /// The default. Go on from the most recent of the walk's last 64 positions whose key still
    /// exists, so a restart costs a few steps and the pass converges under churn. When none is left,
    /// start over as <see cref="StartOverSkippingSeen"/> does. A drain always starts over: the keys
    /// it passed are gone.
    /// </summary>
    ResumeFromEarlierKey,

    /// <summary>Walk again from the first key, skipping keys already met: a restart costs up to a whole walk.</summary>
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

    /// <summary>
    /// Restarts one get_next_key pass tolerates; one more and it gives up with
    /// <see cref="MapIterationRestartedException"/>, which says how many keys it emitted. Also bounds
    /// the pass's work: at most (max_entries + 2) × (MaxRestarts + 2) get_next_key calls.
    /// </summary>
    /// <remarks>
    /// A constant, not a share of the map: a restart needs the key the walk stands on to be deleted
    /// just then, so restarts per pass follow how many deletions land per walk step, not the map's
    /// size. A 100k-entry hash map with a thread deleting and re-inserting keys as fast as it can sees
    /// 0 to 2 restarts per pass (docs/dump-drain.md); 1000 means writers far faster than the walk.
    /// </remarks>
    public int MaxRestarts { get; init; } = 1000;

    /// <summary>Lookup flags (Lock) for every element.</summary>
    public LookupFlags Flags { get; init; }

    /// <summary>How a drain treats arrays.</summary>
    public ArrayDrainMode ArrayDrain { get; init; } = ArrayDrainMode.Refuse;
}
