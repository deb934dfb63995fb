namespace BpfMaps.Cli.Watch;

/// <summary>One key's line in a watch frame.</summary>
/// <param name="Key">The key bytes.</param>
/// <param name="Value">Its value now (dump) or its running total since the watch began (drain).</param>
/// <param name="Delta">Change since the previous tick.</param>
/// <param name="Rate">Delta per second.</param>
internal sealed record WatchRow(byte[] Key, double Value, double Delta, double Rate);

/// <summary>What one tick shows.</summary>
/// <param name="Tick">1-based tick number.</param>
/// <param name="Elapsed">Seconds since the previous tick.</param>
/// <param name="Entries">Entries read this tick.</param>
/// <param name="Keys">Distinct keys seen since the start.</param>
/// <param name="Total">Sum of <see cref="WatchRow.Value"/> over all keys.</param>
/// <param name="TotalDelta">Sum of deltas this tick.</param>
/// <param name="TotalRate">TotalDelta per second.</param>
/// <param name="Top">The keys with the highest rate, best first.</param>
internal sealed record WatchFrame(int Tick, double Elapsed, int Entries, int Keys, double Total, double TotalDelta, double TotalRate, IReadOnlyList<WatchRow> Top);

/// <summary>
/// Turns successive reads of a map into frames: per-key deltas since the last tick, rates, totals,
/// and the top keys by rate. Pure bookkeeping, tested without a kernel.
/// </summary>
/// <param name="top">How many keys a frame lists.</param>
/// <param name="increments">Reads return increments (drain) rather than totals (dump).</param>
internal sealed class WatchModel(int top, bool increments)
{
    private readonly Dictionary<string, (byte[] Key, double Value)> _totals = [];
    private Dictionary<string, double> _current = [];
    private int _tick;

    /// <summary>Sum of every value read while draining (what left the map).</summary>
    public double Drained { get; private set; }

    /// <summary>Starts a tick.</summary>
    public void BeginTick() => _current = new Dictionary<string, double>(_totals.Count);

    /// <summary>Adds one entry read this tick.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public void Add(ReadOnlySpan<byte> key, double value)
    {
        string k = Convert.ToHexString(key);
        _current[k] = _current.GetValueOrDefault(k) + value;
        if (!_totals.ContainsKey(k))
        {
            // A key new in a dump arrived during the watch: its whole value is its delta.
            _totals[k] = (key.ToArray(), 0);
        }
    }

    /// <summary>Ends the tick and computes the frame.</summary>
    /// <param name="elapsedSeconds">Seconds since the previous tick.</param>
    /// <returns>The frame.</returns>
    public WatchFrame EndTick(double elapsedSeconds)
    {
        _tick++;
        double dt = elapsedSeconds > 0 ? elapsedSeconds : 1;
        var rows = new List<WatchRow>(_totals.Count);
        double total = 0, totalDelta = 0;
        foreach (var (k, (key, before)) in _totals.ToList())
        {
            double now;
            double delta;
            if (increments)
            {
                delta = _current.GetValueOrDefault(k);
                now = before + delta;
                Drained += delta;
            }
            else
            {
                now = _current.GetValueOrDefault(k);

                // The first dump is the baseline: what was already there did not arrive during the watch.
                delta = _tick == 1 ? 0 : now - before;
                if (!_current.ContainsKey(k))
                {
                    // Deleted from the map: it no longer counts toward the total.
                    _totals.Remove(k);
                    totalDelta += delta;
                    continue;
                }
            }

            _totals[k] = (key, now);
            total += now;
            totalDelta += delta;
            rows.Add(new WatchRow(key, now, delta, delta / dt));
        }

        rows.Sort((a, b) =>
        {
            int c = b.Rate.CompareTo(a.Rate);
            return c != 0 ? c : b.Value.CompareTo(a.Value);
        });
        if (rows.Count > top)
        {
            rows.RemoveRange(top, rows.Count - top);
        }

        return new WatchFrame(_tick, elapsedSeconds, _current.Count, _totals.Count, total, totalDelta, totalDelta / dt, rows);
    }
}
