using System.Collections.Concurrent;
using System.Diagnostics;

namespace BpfMaps.Kernel;

/// <summary>
/// Counts the live objects of one kind (descriptors, memory mappings) and, with
/// <c>BPFMAPS_TRACK_FDS=1</c>, keeps the stack that created each, so a test can name where a leak came
/// from; objects the finalizer had to release are counted apart, as leaks the GC cleaned up.
/// </summary>
internal sealed class LeakTracker
{
    private static readonly bool s_track = Environment.GetEnvironmentVariable("BPFMAPS_TRACK_FDS") == "1";
    private readonly ConcurrentDictionary<object, string> _origins = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentQueue<string> _finalizedOrigins = new();
    private long _live;
    private long _finalized;

    public long LiveCount => Interlocked.Read(ref _live);

    public long FinalizedCount => Interlocked.Read(ref _finalized);

    public IReadOnlyCollection<string> LiveOrigins => _origins.Values.ToArray();

    public IReadOnlyCollection<string> FinalizedOrigins => _finalizedOrigins.ToArray();

    public void Created(object o)
    {
        Interlocked.Increment(ref _live);
        if (s_track)
        {
            _origins[o] = new StackTrace(2, fNeedFileInfo: true).ToString();
        }
    }

    public void Released(object o)
    {
        Interlocked.Decrement(ref _live);
        if (s_track)
        {
            _origins.TryRemove(o, out _);
        }
    }

    public void Finalizing(object o)
    {
        Interlocked.Increment(ref _finalized);
        if (s_track && _origins.TryGetValue(o, out string? origin))
        {
            _finalizedOrigins.Enqueue(origin);
        }
    }
}
