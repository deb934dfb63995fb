using BpfMaps.Btf;
using BpfMaps.Exporter.Decoding;
using ValueType = BpfMaps.Exporter.Decoding.ValueType;

namespace BpfMaps.Exporter;

/// <summary>Validated configuration: what <see cref="ExporterOptions"/> means, with every name parsed.</summary>
internal sealed record ExportPlan(
    string? ListenHost,
    int ListenPort,
    TimeSpan Interval,
    Uri? OtlpEndpoint,
    bool OtlpHttp,
    bool OtlpDelta,
    IReadOnlyList<KeyValuePair<string, string>> ConstantLabels,
    int MaxSeries,
    IReadOnlyList<MapPlan> Maps);

/// <summary>One key field that becomes a label; <c>Field</c> is where it was configured (<c>key</c> or <c>labels[1]</c>).</summary>
internal sealed record LabelField(string Name, FieldType Type, int Offset, int? Size, string Field)
{
    /// <summary>A BTF field named in the configuration, resolved against the map's BTF when it is opened.</summary>
    public string? BtfPath { get; init; }

    /// <summary>Whether <see cref="Type"/> is a decoder to apply; false when the BTF field's own type decides the text.</summary>
    public bool Decoded { get; init; } = true;

    /// <summary>The resolved BTF field, or null.</summary>
    public BtfField? Btf { get; init; }

    /// <summary>The byte count for a key of <paramref name="keySize"/> bytes.</summary>
    public int SizeIn(int keySize) => Btf is { } b ? b.Size : Decoders.FixedSize(Type) ?? Size ?? keySize - Offset;

    /// <summary>Where the label's bytes start.</summary>
    public int Start => Btf?.Offset ?? Offset;

    /// <summary>The label's text for <paramref name="key"/>.</summary>
    public string Format(ReadOnlySpan<byte> key)
        => Btf is { } b && !Decoded ? b.ToText(key) : Decoders.FormatLabel(Type, key.Slice(Start, SizeIn(key.Length)));
}

/// <summary>One value field that becomes a metric.</summary>
internal sealed record MetricPlan(string Name, string? Help, ValueType Type, int Offset, bool Counter, PerCpuMode PerCpu, bool PerCpuSet)
{
    /// <summary>A BTF field named in the configuration, resolved when the map is opened; <see cref="Name"/> is empty when it is to be derived from it.</summary>
    public string? BtfPath { get; init; }

    /// <summary>The resolved BTF field, or null.</summary>
    public BtfField? Btf { get; init; }

    /// <summary>The value for one CPU's (or the only) value bytes.</summary>
    public double Read(ReadOnlySpan<byte> value)
        => Btf is { } b ? (b.TryGetNumber(value, out double d) ? d : 0) : Decoders.ReadValue(Type, value.Slice(Offset, Decoders.Size(Type)));
}

/// <summary>One map to export.</summary>
internal sealed record MapPlan(int Index, MapSelector Selector, string Label, bool Drain, IReadOnlyList<LabelField> Labels, IReadOnlyList<MetricPlan> Metrics)
{
    /// <summary>How long a series whose key is no longer read stays published; zero: dump mode removes it at once, drain mode never.</summary>
    public TimeSpan ExpireAfter { get; init; }

    /// <summary>No key, labels or metrics were given: with BTF, every key field is a label and every numeric value field a metric.</summary>
    public bool ZeroConfig { get; init; }

    /// <summary>The map is a histogram (and <see cref="Metrics"/> is empty), or null.</summary>
    public HistogramPlan? Histogram { get; init; }

    /// <summary>Whether fields are named by BTF and must be resolved against the map before reading.</summary>
    public bool NeedsBtf => ZeroConfig || Labels.Any(l => l.BtfPath is not null && l.Btf is null) || Metrics.Any(m => m.BtfPath is not null && m.Btf is null)
        || (Histogram is { } h && new[] { h.Bucket, h.Count, h.SumField }.Any(f => f is { BtfPath: not null, Btf: null }));

    /// <summary>The config path of this map (<c>maps[2]</c>).</summary>
    public string Path => $"maps[{Index}]";

    /// <summary>
    /// Checks the decoders against a map's real sizes and type.
    /// </summary>
    /// <returns>Null, or the relative path and problem (e.g. <c>labels[1]</c>, <c>...</c>).</returns>
    public (string Field, string Problem)? CheckLayout(MapInfo info)
    {
        string what = $"map '{info.Name}' (id {info.Id}, {info.Type.KernelName()})";
        if (info.KeySize == 0 || info.Type is MapType.RingBuf or MapType.UserRingBuf or MapType.PerfEventArray or MapType.BloomFilter or MapType.Arena or MapType.StructOps)
        {
            return ("map", $"{what} has no key/value entries to export");
        }

        if (Labels.Count == 0 && info.MaxEntries != 1 && !ZeroConfig && Histogram is null)
        {
            return ("key", $"{what} holds up to {info.MaxEntries} entries; give 'key' or 'labels' so that each entry has its own series");
        }

        bool perCpu = info.Type.IsPerCpu();
        for (int i = 0; i < Labels.Count; i++)
        {
            LabelField l = Labels[i];
            if (l.BtfPath is not null)
            {
                continue;
            }

            int size = l.SizeIn(info.KeySize);
            // long: an offset near int.MaxValue must not wrap around and pass.
            if (size <= 0 || (long)l.Offset + size > info.KeySize)
            {
                return (l.Field, $"{l.Type.ToString().ToLowerInvariant()} at offset {l.Offset} needs {Math.Max(size, 1)} bytes but {what} has {info.KeySize}-byte keys");
            }
        }

        for (int i = 0; i < Metrics.Count; i++)
        {
            MetricPlan m = Metrics[i];
            int size = Decoders.Size(m.Type);
            if (m.BtfPath is null && (long)m.Offset + size > info.ValueSize)
            {
                return ($"metrics[{i}]", $"{m.Type.ToString().ToLowerInvariant()} at offset {m.Offset} needs {size} bytes but {what} has {info.ValueSize}-byte values");
            }

            if (m.PerCpuSet && !perCpu)
            {
                return ($"metrics[{i}].perCpu", $"{what} is not a per-CPU map");
            }
        }

        if (Drain && info.Type.IsMapInMap())
        {
            return ("mode", $"{what} holds inner maps; draining it would delete them");
        }

        return Histogram is { } h ? CheckHistogram(h.WithSizes(info.KeySize, info.ValueSize), h.Bucket is null, info, what) : null;
    }

    /// <summary>The histogram's fields against the map: each fits, none overlaps another, and the bucket field can hold every index configured.</summary>
    private (string Field, string Problem)? CheckHistogram(HistogramPlan h, bool wholeKey, MapInfo info, string what)
    {
        HistogramField bucket = h.Bucket!;
        if (bucket.Length is not (1 or 2 or 4 or 8) || (long)bucket.Start + bucket.Length > info.KeySize)
        {
            return (bucket.Path, wholeKey
                ? $"{what} has {info.KeySize}-byte keys, which are not a bucket index of 1, 2, 4 or 8 bytes; name the bucket field with 'bucket' (and the others with 'labels')"
                : bucket.Length is not (1 or 2 or 4 or 8)
                    ? $"a bucket index is 1, 2, 4 or 8 bytes, not {bucket.Length} ({bucket.Describe()})"
                    : $"{bucket.Describe()} needs {bucket.Start + bucket.Length} bytes but {what} has {info.KeySize}-byte keys");
        }

        ulong fits = bucket.Length == 8 ? ulong.MaxValue : (1UL << (8 * bucket.Length)) - 1;
        if (h.BucketMax > fits)
        {
            return ("histogram.bucketMax", $"{h.BucketMax} does not fit the {bucket.Length}-byte bucket index ({bucket.Describe()}), which holds up to {fits}");
        }

        if (h.SumKey is { } sumKey && sumKey > fits)
        {
            return ("histogram.sum.key", $"{sumKey} does not fit the {bucket.Length}-byte bucket index ({bucket.Describe()}), which holds up to {fits}");
        }

        for (int i = 0; i < Labels.Count; i++)
        {
            LabelField l = Labels[i];
            int size = l.SizeIn(info.KeySize);
            if (l.Start < bucket.Start + bucket.Length && bucket.Start < l.Start + size)
            {
                return (bucket.Path, $"key bytes {Range(bucket.Start, bucket.Length)} are the bucket index and also {l.Field} (bytes {Range(l.Start, size)}); a label must not include the bucket");
            }
        }

        foreach (HistogramField? f in (ReadOnlySpan<HistogramField?>)[h.Count, h.SumField])
        {
            if (f is null)
            {
                continue;
            }

            if (f.Length is not (1 or 2 or 4 or 8))
            {
                return (f.Path, $"a count or sum is 1, 2, 4 or 8 bytes, not {f.Length} ({f.Describe()})");
            }

            if ((long)f.Start + f.Length > info.ValueSize)
            {
                return (f.Path, $"{f.Describe()} needs {f.Start + f.Length} bytes but {what} has {info.ValueSize}-byte values");
            }
        }

        if (h.SumField is { } sum && sum.Start < h.Count!.Start + h.Count.Length && h.Count.Start < sum.Start + sum.Length)
        {
            return (sum.Path, $"value bytes {Range(sum.Start, sum.Length)} are the sum and also the count (bytes {Range(h.Count.Start, h.Count.Length)})");
        }

        return null;
    }

    private static string Range(int start, int length) => length == 1 ? $"{start}" : $"{start}..{start + length - 1}";

    /// <summary>Key bytes that no label decodes, as ranges (<c>6..7</c>); entries differing only there share a series.</summary>
    public string? UncoveredKeyBytes(int keySize)
    {
        var covered = new bool[keySize];
        foreach ((int start, int size) in Labels.Select(l => (l.Start, l.SizeIn(keySize))).Concat(Histogram?.Bucket is { } b ? [(b.Start, b.Length)] : []))
        {
            for (int i = start; i < Math.Min(keySize, start + size); i++)
            {
                covered[i] = true;
            }
        }

        var ranges = new List<string>();
        for (int i = 0; i < keySize; i++)
        {
            if (covered[i])
            {
                continue;
            }

            int start = i;
            while (i + 1 < keySize && !covered[i + 1])
            {
                i++;
            }

            ranges.Add(start == i ? $"{start}" : $"{start}..{i}");
        }

        return ranges.Count == 0 || (Labels.Count == 0 && Histogram is null) ? null : string.Join(", ", ranges);
    }
}
