using BpfMaps.Events;
using System.Diagnostics;

namespace BpfMaps.Cli.EventPipe;

/// <summary>
/// Receives the records of either reader, counts them (events, bytes, lost, per perf ring) and hands them to the
/// renderer until <c>--count</c> is reached; records after that are read but not printed.
/// </summary>
internal sealed class EventSink : IPerfRecordHandler, IRecordHandler
{
    private readonly IEventRenderer _renderer;
    private readonly long _limit;
    private readonly Dictionary<(int Cpu, int Index), EventCounts> _rings = [];
    private readonly EventCounts _total = new();

    /// <summary>Creates the sink.</summary>
    /// <param name="renderer">Where records go.</param>
    /// <param name="limit">Events to print before <see cref="Done"/>; 0 for no limit.</param>
    /// <param name="slots">The perf rings, so each has a line in the summary even when it got nothing; null for a ring buffer.</param>
    public EventSink(IEventRenderer renderer, long limit, IReadOnlyList<PerfBufferSlot>? slots)
    {
        _renderer = renderer;
        _limit = limit;
        foreach (PerfBufferSlot s in slots ?? [])
        {
            _rings[(s.Cpu, s.Index)] = new EventCounts();
        }
    }

    /// <summary>Whether <c>--count</c> events were printed.</summary>
    public bool Done => _limit > 0 && _total.Events >= _limit;

    /// <summary>Everything printed.</summary>
    public EventCounts Total => _total;

    /// <summary>What each perf ring gave, by CPU and slot.</summary>
    public IReadOnlyDictionary<(int Cpu, int Index), EventCounts> Rings => _rings;

    /// <inheritdoc />
    public void OnSample(in PerfSample sample)
    {
        if (Done)
        {
            return;
        }

        Count(Ring(sample.Cpu, sample.Index), sample.Data.Length);
        _renderer.Sample(new EventRecord(sample.Cpu, sample.Index, sample.Timestamp, sample.Data));
    }

    /// <inheritdoc />
    public void OnLost(in PerfLost lost)
    {
        Ring(lost.Cpu, lost.Index).Lost += lost.Count;
        _total.Lost += lost.Count;
        if (!Done)
        {
            _renderer.Lost(lost.Cpu, lost.Index, lost.EventId, lost.Count);
        }
    }

    /// <inheritdoc />
    public void OnRecord(ReadOnlySpan<byte> record)
    {
        if (Done)
        {
            return;
        }

        Count(null, record.Length);
        _renderer.Sample(new EventRecord(-1, -1, Now(), record));
    }

    // CLOCK_MONOTONIC in nanoseconds (the Stopwatch's clock on Linux).
    private static ulong Now()
    {
        long ticks = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000 ? (ulong)ticks : (ulong)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));
    }

    private void Count(EventCounts? ring, int bytes)
    {
        _total.Events++;
        _total.Bytes += bytes;
        if (ring is not null)
        {
            ring.Events++;
            ring.Bytes += bytes;
        }
    }

    private EventCounts Ring(int cpu, int index)
    {
        if (!_rings.TryGetValue((cpu, index), out EventCounts? c))
        {
            _rings[(cpu, index)] = c = new EventCounts();
        }

        return c;
    }
}

/// <summary>Events, bytes and lost samples, for the closing summary.</summary>
internal sealed class EventCounts
{
    /// <summary>Events printed.</summary>
    public long Events { get; set; }

    /// <summary>Their bytes.</summary>
    public long Bytes { get; set; }

    /// <summary>Samples the kernel reported lost.</summary>
    public ulong Lost { get; set; }
}
