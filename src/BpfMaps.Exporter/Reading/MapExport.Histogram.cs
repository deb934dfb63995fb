using System.Buffers;
using System.Text;
using BpfMaps.Btf;

namespace BpfMaps.Exporter.Reading;

/// <summary>The histogram side of <see cref="MapExport"/>: a map whose entries are the buckets of label sets.</summary>
internal sealed partial class MapExport
{
    private (ulong Index, string Key)? _pastMax;
    private byte[] _histogramName = [];
    private string _histogramHelp = "";

    /// <summary>The histogram's bucket arithmetic, or null for a map of metrics (or before the map is first opened).</summary>
    internal HistogramBuckets? Buckets => _buckets;

    /// <summary>Claims the histogram's names; a histogram has no prometheus-net or OpenTelemetry instruments, its series are written from the table.</summary>
    private void CreateHistogram(MapPlan plan, HistogramPlan h)
    {
        foreach (string published in h.PublishedNames)
        {
            if (_self.Claim(published, plan.Path) is { } other)
            {
                throw new MapReadException("layout", "histogram.name", $"metric {published} is already published by {other}; give the histogram another name");
            }
        }

        _buckets = new HistogramBuckets(h);
        _slots = 0;
        _slotBase = [];
        _series.KeyCapacity = _maxSeries;
        _histogramName = Encoding.UTF8.GetBytes(h.Name);
        _histogramHelp = h.Help ?? $"Histogram of map {plan.Label} ({h.Type.ToString().ToLowerInvariant()} buckets).";
        _plan = plan;
        _published = true;
    }

    /// <summary>The key with the bucket index zeroed, in a buffer of this map's: the key of the label set's series.</summary>
    private ReadOnlySpan<byte> WithoutBucket(ReadOnlySpan<byte> key, HistogramPlan h)
    {
        Span<byte> k = _histogramKey;
        key.CopyTo(k);
        k.Slice(h.Bucket!.Start, h.Bucket.Length).Clear();
        return k;
    }

    private HistogramSeries NewHistogramSeries(KeyValuePair<string, object?>[] tags)
        => new(_buckets!.Slots, HistogramText.LabelText(tags.Select(t => (t.Key, (string)t.Value!)).Concat(_self.ConstantLabels)))
        {
            StartUnixNano = UnixNanoNow(),
        };

    /// <summary>Adds one bucket entry to its series; false when it is left out (a count above bucketMax that overflow does not allow).</summary>
    private bool AddBucket(BpfMap map, HistogramSeries s, HistogramPlan h, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ulong index = h.Bucket!.Read(key);
        ulong count = ReadSummed(map, h.Count!, value);
        if (index == h.SumKey)
        {
            s.Sum += count;
            return true;
        }

        HistogramBuckets b = _buckets!;
        if (index > h.BucketMax)
        {
            // Arrays hold every index, and a program may create an entry before it counts: zeros fit anywhere.
            if (count == 0)
            {
                return true;
            }

            if (h.Overflow == HistogramOverflow.Error || index > b.Top)
            {
                _pastMax ??= (index, Convert.ToHexStringLower(key));
                return false;
            }
        }

        s.Counts[b.SlotOf(index)] += count;
        if (h.SumField is { } sum)
        {
            s.Sum += ReadSummed(map, sum, value);
        }
        else if (h.SumKey is null)
        {
            s.SumEstimate += count * b.Midpoint(index);
        }

        return true;
    }

    /// <summary>A value field, summed over the CPUs of a per-CPU map.</summary>
    private static ulong ReadSummed(BpfMap map, HistogramField f, ReadOnlySpan<byte> value)
    {
        if (!map.IsPerCpu)
        {
            return f.Read(value);
        }

        ulong acc = 0;
        int stride = map.ValueStride;
        for (int c = 0; c < map.Cpus; c++)
        {
            acc += f.Read(value.Slice(c * stride, map.ValueSize));
        }

        return acc;
    }

    private string PastMaxMessage(ulong index, string key) => PastMaxMessage(_plan.Histogram!, index, key);

    private string PastMaxMessage(HistogramPlan h, ulong index, string key)
    {
        if (index > _buckets!.Top)
        {
            return $"bucket index {index} (key {key}) is above {_buckets.Top}, the highest {h.Type.ToString().ToLowerInvariant()} bucket of a 64-bit value; is 'bucket' the right field?";
        }

        string hint = h.SumKey is null && index == h.BucketMax + 1
            ? $"; if it holds the sum (ebpf_exporter's layout), set \"sum\": {{ \"key\": {index} }}"
            : "; raise bucketMax, or set overflow to 'inf' (counted in +Inf) or 'max' (the program clamps)";
        return $"bucket index {index} (key {key}) is above bucketMax {h.BucketMax}{hint}";
    }

    /// <summary>
    /// A map that already holds a count above bucketMax is a configuration error at startup, with the same line a
    /// read would log. Only with overflow 'error'; the map is dumped, never drained.
    /// </summary>
    private void CheckBucketsAtStartup(BpfMap map, HistogramPlan h)
    {
        if (h.Overflow != HistogramOverflow.Error)
        {
            return;
        }

        foreach (MapEntry entry in map.Dump())
        {
            ulong index = h.Bucket!.Read(entry.Key);
            if (index > h.BucketMax && index != h.SumKey && ReadSummed(map, h.Count!, entry.Value) != 0)
            {
                throw new MapReadException("layout", "histogram.bucketMax", PastMaxMessage(h, index, Convert.ToHexStringLower(entry.Key)));
            }
        }
    }

    /// <summary>Writes the histogram family in the Prometheus text format: every label set the last read left in the table.</summary>
    internal void WriteHistogramText(IBufferWriter<byte> output)
    {
        if (_buckets is null)
        {
            return;
        }

        lock (_lock)
        {
            HistogramPlan h = _plan.Histogram!;
            bool exact = h.SumKey is not null || h.SumField is not null;
            HistogramText.WriteHeader(output, _histogramName, _histogramHelp);
            foreach (Series s in _series.Values)
            {
                HistogramText.WriteSeries(output, _histogramName, s.Histogram!, _buckets, exact ? s.Histogram!.Sum * h.Multiplier : s.Histogram!.SumEstimate * h.Multiplier);
            }
        }
    }

    /// <summary>
    /// Writes the histogram as one OTLP <c>Metric</c> (field 2 of <c>ScopeMetrics</c>) with a data point per label set:
    /// an exponential histogram at scale 0 when the buckets are powers of two (<see cref="HistogramBuckets.ExponentialShift"/>),
    /// else an explicit-bucket histogram with the bounds the scrape endpoint publishes. Delta points carry what
    /// changed since the last push (label sets with no change are left out); cumulative points the counts, from
    /// when the series began or last went down. Writes nothing when there is no point.
    /// </summary>
    /// <param name="w">The request being written.</param>
    /// <param name="delta">Delta temporality, else cumulative.</param>
    /// <param name="now">The points' time, Unix nanoseconds.</param>
    internal void WriteOtlpHistogram(ProtoWriter w, bool delta, ulong now)
    {
        if (_buckets is not { } b)
        {
            return;
        }

        lock (_lock)
        {
            HistogramPlan h = _plan.Histogram!;
            bool exact = h.SumKey is not null || h.SumField is not null;
            bool exponential = b.ExponentialShift is not null;
            int metricTag = w.Position;
            int metric = w.Begin(2);
            w.String(1, h.Name);
            w.String(2, _histogramHelp);
            int data = w.Begin(exponential ? 10 : 9);
            int firstPoint = w.Position;
            ulong[] counts = _otlpCounts.Length == b.Slots ? _otlpCounts : (_otlpCounts = new ulong[b.Slots]);
            foreach (Series s in _series.Values)
            {
                HistogramSeries hs = s.Histogram!;
                double sum = (exact ? hs.Sum : hs.SumEstimate) * h.Multiplier;
                ulong[]? pushed = hs.Pushed;
                bool reset = false;
                for (int i = 0; pushed is not null && i < pushed.Length && !reset; i++)
                {
                    // A dump whose counts went down: the map was replaced or emptied; the series starts again.
                    reset = hs.Counts[i] < pushed[i];
                }

                bool fresh = pushed is null || reset;
                if (reset && !delta)
                {
                    hs.StartUnixNano = hs.LastPushUnixNano;
                }

                bool any = false;
                for (int i = 0; i < counts.Length; i++)
                {
                    counts[i] = delta && !fresh ? hs.Counts[i] - pushed![i] : hs.Counts[i];
                    any |= counts[i] != 0;
                }

                double pointSum = delta && !fresh ? sum - hs.PushedSum : sum;
                if (delta && !any && pointSum == 0)
                {
                    continue;
                }

                ulong start = delta && pushed is not null ? hs.LastPushUnixNano : hs.StartUnixNano;
                if (exponential)
                {
                    WriteExponentialPoint(w, b, s.Tags, start, now, counts, pointSum, h.Type == BucketType.Exp2Zero);
                }
                else
                {
                    WriteExplicitPoint(w, b, s.Tags, start, now, counts, pointSum);
                }

                // What this point reports becomes the baseline only when the request is accepted (CommitOtlpHistogram).
                hs.Staged ??= new ulong[counts.Length];
                hs.Counts.CopyTo(hs.Staged, 0);
                hs.StagedSum = sum;
                hs.StagedUnixNano = now;
                hs.IsStaged = true;
            }

            if (w.Position == firstPoint)
            {
                w.Buffer.Truncate(metricTag);
                return;
            }

            w.UInt(2, delta ? 1UL : 2UL);
            w.End(data);
            w.End(metric);
        }
    }

    /// <summary>
    /// Ends the OTLP request <see cref="WriteOtlpHistogram"/> wrote: if the endpoint accepted it, what it reported
    /// becomes the baseline of the next delta; if not, the next request reports those changes again.
    /// </summary>
    /// <param name="accepted">Whether the endpoint accepted the request.</param>
    internal void CommitOtlpHistogram(bool accepted)
    {
        if (_buckets is null)
        {
            return;
        }

        lock (_lock)
        {
            foreach (Series s in _series.Values)
            {
                HistogramSeries hs = s.Histogram!;
                if (!hs.IsStaged)
                {
                    continue;
                }

                if (accepted)
                {
                    hs.Pushed ??= new ulong[hs.Staged!.Length];
                    hs.Staged!.CopyTo(hs.Pushed, 0);
                    hs.PushedSum = hs.StagedSum;
                    hs.LastPushUnixNano = hs.StagedUnixNano;
                }

                hs.IsStaged = false;
            }
        }
    }

    private ulong[] _otlpCounts = [];
    private ulong[] _otlpBuckets = [];

    private void WriteExplicitPoint(ProtoWriter w, HistogramBuckets b, KeyValuePair<string, object?>[] tags, ulong start, ulong now, ulong[] counts, double sum)
    {
        ulong[] perBucket = _otlpBuckets.Length == b.Bounds.Length + 1 ? _otlpBuckets : (_otlpBuckets = new ulong[b.Bounds.Length + 1]);
        ulong total = 0;
        int slot = 0;
        for (int j = 0; j < perBucket.Length; j++)
        {
            int end = j < b.Bounds.Length ? b.BoundEnd[j] : counts.Length - 1;
            ulong inBucket = 0;
            while (slot <= end)
            {
                inBucket += counts[slot++];
            }

            perBucket[j] = inBucket;
            total += inBucket;
        }

        int point = w.Begin(1);
        WriteAttributes(w, 9, tags);
        w.Fixed64(2, start);
        w.Fixed64(3, now);
        w.Fixed64(4, total);
        w.Double(5, sum);
        w.PackedFixed64(6, perBucket);
        w.PackedDouble(7, b.Bounds);
        w.End(point);
    }

    private static void WriteExponentialPoint(ProtoWriter w, HistogramBuckets b, KeyValuePair<string, object?>[] tags, ulong start, ulong now, ulong[] counts, double sum, bool zeroBucket)
    {
        // exp2 bucket i is (2^(i-1), 2^i], exponential bucket i-1 at scale 0; exp2zero's are one further up, its bucket 0 the zero count.
        int first = zeroBucket ? 1 : 0;
        int below = zeroBucket ? 2 : 1;
        ulong total = 0;
        int lo = -1, hi = -1;
        for (int i = 0; i < counts.Length; i++)
        {
            total += counts[i];
            if (i >= first && counts[i] != 0)
            {
                lo = lo < 0 ? i : lo;
                hi = i;
            }
        }

        int point = w.Begin(1);
        WriteAttributes(w, 1, tags);
        w.Fixed64(2, start);
        w.Fixed64(3, now);
        w.Fixed64(4, total);
        w.Double(5, sum);
        w.SInt32(6, 0);
        w.Fixed64(7, zeroBucket ? counts[0] : 0);
        if (lo >= 0)
        {
            int positive = w.Begin(8);
            w.SInt32(1, lo - below + b.ExponentialShift!.Value);
            w.PackedUInt(2, counts.AsSpan(lo, hi - lo + 1));
            w.End(positive);
        }

        w.End(point);
    }

    /// <summary>Labels as OTLP <c>KeyValue</c> attributes with string values.</summary>
    internal static void WriteAttributes(ProtoWriter w, int field, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach ((string key, object? value) in tags)
        {
            int kv = w.Begin(field);
            w.String(1, key);
            int any = w.Begin(2);
            w.String(1, value as string ?? value?.ToString() ?? "");
            w.End(any);
            w.End(kv);
        }
    }

    /// <summary>The key fields of a map with BTF that are neither labels nor the bucket, or null.</summary>
    private string? UncoveredKeyFields(BpfMap map)
    {
        BtfEntryFormatter? btf = map.GetBtfFormatter();
        if (btf?.Key is null)
        {
            return null;
        }

        var used = _plan.Labels.Select(l => (l.Start, Size: l.SizeIn(map.KeySize))).Append((_plan.Histogram!.Bucket!.Start, Size: _plan.Histogram.Bucket.Length)).ToList();
        string[] missing = btf.Key.Fields.Where(f => !used.Any(u => u.Start < f.Offset + f.Size && f.Offset < u.Start + u.Size)).Select(f => f.Path).ToArray();
        return missing.Length == 0 ? null : string.Join(", ", missing);
    }

    private static ulong UnixNanoNow() => (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
}
