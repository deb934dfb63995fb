using BpfMaps.Btf;

namespace BpfMaps.Exporter;

/// <summary>What a histogram map's bucket index means (ebpf_exporter's bucket types).</summary>
internal enum BucketType
{
    /// <summary>Bucket i holds values up to 2^i: (2^(i-1), 2^i], bucket 0 [0, 1].</summary>
    Exp2,

    /// <summary>Bucket 0 holds 0, bucket i &gt; 0 holds (2^(i-2), 2^(i-1)].</summary>
    Exp2Zero,

    /// <summary>Bucket i holds [i·step, (i+1)·step).</summary>
    Linear,

    /// <summary>The bucket field holds the bucket's upper bound itself, one of the configured keys.</summary>
    Fixed,
}

/// <summary>Where counts above bucketMax go.</summary>
internal enum HistogramOverflow
{
    /// <summary>A non-zero count above bucketMax fails the read.</summary>
    Error,

    /// <summary>Counts above bucketMax are in +Inf only.</summary>
    Inf,

    /// <summary>The program clamps into bucketMax, so that bucket is published in +Inf only.</summary>
    Max,
}

/// <summary>
/// A field of a histogram map: an offset and size, or a BTF field resolved when the map is opened.
/// <c>Path</c> is where it was configured (<c>histogram.bucket</c>).
/// </summary>
internal sealed record HistogramField(string Path, int Offset, int Size)
{
    /// <summary>A BTF field named in the configuration, or null.</summary>
    public string? BtfPath { get; init; }

    /// <summary>The resolved BTF field, or null.</summary>
    public BtfField? Btf { get; init; }

    /// <summary>Where the field's bytes start.</summary>
    public int Start => Btf?.Offset ?? Offset;

    /// <summary>How many bytes it has.</summary>
    public int Length => Btf?.Size ?? Size;

    /// <summary>The field's bytes as an unsigned integer in host byte order.</summary>
    public ulong Read(ReadOnlySpan<byte> data) => HistogramBuckets.ReadUnsigned(data.Slice(Start, Length));

    /// <summary>How the field is described in messages: <c>field 'slot'</c> or <c>u32 at offset 4</c>.</summary>
    public string Describe() => Btf is { } b ? $"field '{b.Path}' ({b.Size} bytes at offset {b.Offset})" : $"{Length} bytes at offset {Start}";
}

/// <summary>A validated histogram: the bucket layout, the fields, and how values are scaled.</summary>
internal sealed record HistogramPlan(
    string Name,
    string? Help,
    BucketType Type,
    ulong BucketMin,
    ulong BucketMax,
    double Step,
    IReadOnlyList<ulong> Keys,
    double Multiplier,
    HistogramOverflow Overflow)
{
    /// <summary>The bucket index in the key; null until the map is opened means the whole key.</summary>
    public HistogramField? Bucket { get; init; }

    /// <summary>The count in the value; null until the map is opened means its first 8 bytes (or the whole of a shorter value).</summary>
    public HistogramField? Count { get; init; }

    /// <summary>A value field holding the sum of the entry's observations, or null.</summary>
    public HistogramField? SumField { get; init; }

    /// <summary>A bucket index whose count is the sum of the label set's observations, or null.</summary>
    public ulong? SumKey { get; init; }

    /// <summary>The published metric names, which no other metric may use.</summary>
    public IEnumerable<string> PublishedNames => [Name, Name + "_bucket", Name + "_sum", Name + "_count"];

    /// <summary>The plan with the defaults that depend on the map's sizes filled in.</summary>
    public HistogramPlan WithSizes(int keySize, int valueSize) => this with
    {
        Bucket = Bucket ?? new HistogramField("histogram.bucket", 0, keySize),
        Count = Count ?? new HistogramField("histogram.count", 0, Math.Min(valueSize, 8)),
    };
}
