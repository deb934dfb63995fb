namespace BpfMaps.Exporter.Reading;

/// <summary>
/// The series of one map, keyed by the raw key bytes (for a histogram, the key without its bucket index):
/// which series a read saw, the limit on how many there are, and when the ones no longer read go. Not
/// thread-safe: <see cref="MapExport"/> holds its lock around every call.
/// </summary>
/// <param name="drain">The map is drained: its series stay until they expire, and the table (not the read) counts against the limit.</param>
/// <param name="expireAfter">How long a series whose key is no longer read stays; zero: a dump's goes at once, a drain's never.</param>
/// <param name="clock">The clock of <see cref="Series.LastSeenTicks"/>.</param>
internal sealed class SeriesTable(bool drain, TimeSpan expireAfter, TimeProvider clock)
{
    private readonly Dictionary<byte[], Series> _series = new(ByteKeyComparer.Instance);
    private long _generation;
    private int _live;

    /// <summary>How many keys may have a series: maxSeries, over the widest metric's series per key.</summary>
    public int KeyCapacity { get; set; }

    /// <summary>How many series there are.</summary>
    public int Count => _series.Count;

    /// <summary>Every series, in no order.</summary>
    public Dictionary<byte[], Series>.ValueCollection Values => _series.Values;

    /// <summary>Starts a read: the series it takes are marked with the generation returned.</summary>
    public long BeginRead()
    {
        // A dump counts the keys of this read against the limit, not the table: the keys of the
        // last read are still in it until the end, and a map whose keys all changed would
        // otherwise find the table full and publish nothing.
        _live = 0;
        return ++_generation;
    }

    /// <summary>
    /// The series of an entry of the read <paramref name="gen"/>, made by <paramref name="factory"/> for a new key;
    /// null when the limit leaves the entry out (the caller counts it as dropped).
    /// </summary>
    /// <param name="seriesKey">The key of the series.</param>
    /// <param name="key">The entry's key, from which a new series' labels are made.</param>
    /// <param name="gen">The read, from <see cref="BeginRead"/>.</param>
    /// <param name="now">The read's timestamp, on the table's clock.</param>
    /// <param name="factory">Makes the series of a key the table has not seen.</param>
    public Series? Take(ReadOnlySpan<byte> seriesKey, ReadOnlySpan<byte> key, long gen, long now, ISeriesFactory factory)
    {
        Dictionary<byte[], Series>.AlternateLookup<ReadOnlySpan<byte>> lookup = _series.GetAlternateLookup<ReadOnlySpan<byte>>();
        bool known = lookup.TryGetValue(seriesKey, out Series? s);
        if (!known || s!.Generation != gen)
        {
            if (!drain && _live >= KeyCapacity)
            {
                // A known key left out here is unpublished below with the keys that left the map.
                return null;
            }

            if (!known)
            {
                // Drained counters stay for good, so in drain mode the table is what counts.
                if (drain && _series.Count >= KeyCapacity)
                {
                    return null;
                }

                s = factory.NewSeries(key);
                lookup.TryAdd(seriesKey, s);
            }

            _live++;
            s!.Generation = gen;
            s.LastSeenTicks = now;

            // A dump's counts are absolute: the buckets of this read replace the last read's.
            if (!drain)
            {
                s.Histogram?.Clear();
            }
        }

        return s;
    }

    /// <summary>
    /// Removes the series that go: in dump mode the keys this read did not see (at once, or once they
    /// have been gone for expireAfter), in drain mode the keys not drained for expireAfter. A dump's
    /// table also never holds more than the limit: lingering keys make room for read ones, oldest first.
    /// </summary>
    public void Expire(long gen, long now)
    {
        long expire = expireAfter <= TimeSpan.Zero ? 0 : (long)(expireAfter.TotalSeconds * clock.TimestampFrequency);
        List<(byte[] Key, Series S)>? lingering = null;
        int read = 0;
        foreach ((byte[] key, Series s) in _series)
        {
            if (s.Generation == gen)
            {
                read++;
                continue;
            }

            if (drain ? expire > 0 && now - s.LastSeenTicks >= expire : expire == 0 || now - s.LastSeenTicks >= expire)
            {
                Unpublish(s);
                _series.Remove(key);
            }
            else if (!drain)
            {
                (lingering ??= []).Add((key, s));
            }
        }

        if (lingering is not null && read + lingering.Count > KeyCapacity)
        {
            lingering.Sort((a, b) => a.S.LastSeenTicks.CompareTo(b.S.LastSeenTicks));
            for (int i = 0; i < read + lingering.Count - KeyCapacity; i++)
            {
                Unpublish(lingering[i].S);
                _series.Remove(lingering[i].Key);
            }
        }
    }

    /// <summary>Unpublishes and removes every series.</summary>
    public void Clear()
    {
        foreach (Series s in _series.Values)
        {
            Unpublish(s);
        }

        _series.Clear();
    }

    private static void Unpublish(Series s)
    {
        if (s.Children is { } children)
        {
            for (int i = 0; i < children.Length; i++)
            {
                children[i]?.Remove();
                children[i] = null;
            }
        }
    }
}
