namespace BpfMaps.Programs;

/// <summary>What the writers and the drainer of one race share.</summary>
internal sealed class DrainRaceState
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
internal readonly record struct DrainLoopResult(long Drained, long Entries, long Drains, long Remaining, TimeSpan Elapsed);
