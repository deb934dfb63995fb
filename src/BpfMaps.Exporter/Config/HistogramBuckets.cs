using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace BpfMaps.Exporter;

/// <summary>
/// The bucket arithmetic of a histogram plan: which count slot a map's bucket index goes to, which
/// upper bounds are published and which slots each covers, each bucket's bounds for the sum estimate,
/// and whether the buckets are base-2 exponential buckets (OTLP scale 0).
/// </summary>
/// <remarks>
/// A series keeps one count per slot. For <c>exp2</c> and <c>exp2zero</c> a slot is a bucket index (0 to 64, or
/// 65), whatever bucketMin and bucketMax publish, so the exponential form is exact. For <c>linear</c> slot 0 holds
/// the indices up to bucketMin and the last slot those above bucketMax; for <c>fixed</c>, a slot per published key
/// and one above. A published bound covers every slot up to its own, so buckets below bucketMin are counted in
/// the first one, as cumulative buckets must.
/// </remarks>
internal sealed class HistogramBuckets
{
    /// <summary>The highest bucket index of an exp2 map: log2 of a 64-bit value rounded up is at most 64.</summary>
    public const ulong Exp2Top = 64;

    private readonly HistogramPlan _plan;
    private readonly ulong[] _published;
    private readonly ulong[] _keys;

    public HistogramBuckets(HistogramPlan plan)
    {
        _plan = plan;
        _keys = [.. plan.Keys];
        ulong min = plan.BucketMin, max = plan.BucketMax;
        _published = plan.Type == BucketType.Fixed ? _keys.Where(k => k >= min && k <= max).ToArray() : [];
        Slots = plan.Type switch
        {
            BucketType.Exp2 => (int)Exp2Top + 1,
            BucketType.Exp2Zero => (int)Exp2Top + 2,
            BucketType.Linear => (int)(max - min) + 2,
            _ => _published.Length + 1,
        };

        // With overflow 'max' the top bucket holds larger values too: it has no bound of its own.
        var bounds = new List<double>();
        var ends = new List<int>();
        if (plan.Type == BucketType.Fixed)
        {
            int top = _published.Length - (plan.Overflow == HistogramOverflow.Max ? 1 : 0);
            for (int j = 0; j < top; j++)
            {
                bounds.Add(_published[j] * plan.Multiplier);
                ends.Add(j);
            }
        }
        else
        {
            ulong top = plan.Overflow == HistogramOverflow.Max ? max - 1 : max;
            for (ulong i = min; i <= top && i >= min; i++)
            {
                bounds.Add(UpperBound(i) * plan.Multiplier);
                ends.Add(SlotOf(i));
            }
        }

        Bounds = [.. bounds];
        BoundEnd = [.. ends];
        LeText = [.. Bounds.Select(b => Encoding.UTF8.GetBytes(b.ToString("g", CultureInfo.InvariantCulture))), "+Inf"u8.ToArray()];
        if (plan.Type is BucketType.Exp2 or BucketType.Exp2Zero && plan.Overflow != HistogramOverflow.Max
            && double.IsFinite(plan.Multiplier) && plan.Multiplier > 0 && Math.ScaleB(1, Math.ILogB(plan.Multiplier)) == plan.Multiplier)
        {
            ExponentialShift = Math.ILogB(plan.Multiplier);
        }
    }

    /// <summary>Counts per series.</summary>
    public int Slots { get; }

    /// <summary>The published finite upper bounds (the <c>le</c> values), scaled by the multiplier.</summary>
    public double[] Bounds { get; }

    /// <summary>For each of <see cref="Bounds"/>, the last slot it covers; a bound covers every slot up to it.</summary>
    public int[] BoundEnd { get; }

    /// <summary>The <c>le</c> label values in UTF-8, <c>+Inf</c> last.</summary>
    public byte[][] LeText { get; }

    /// <summary>
    /// log2 of the multiplier when the buckets are base-2 exponential buckets at scale 0 (exp2 and exp2zero with a
    /// power-of-two multiplier and no clamped top bucket), else null.
    /// </summary>
    public int? ExponentialShift { get; }

    /// <summary>The highest bucket index the type can have: 64 for exp2, 65 for exp2zero, none for the others.</summary>
    public ulong Top => _plan.Type switch
    {
        BucketType.Exp2 => Exp2Top,
        BucketType.Exp2Zero => Exp2Top + 1,
        _ => ulong.MaxValue,
    };

    /// <summary>The count slot of bucket index <paramref name="index"/> (at most <see cref="Top"/>).</summary>
    public int SlotOf(ulong index)
    {
        switch (_plan.Type)
        {
            case BucketType.Exp2:
            case BucketType.Exp2Zero:
                return (int)index;
            case BucketType.Linear:
                return index <= _plan.BucketMin ? 0 : index > _plan.BucketMax ? Slots - 1 : (int)(index - _plan.BucketMin);
            default:
                // The smallest published key at or above the index: a key between two listed ones is at most the next.
                int at = Array.BinarySearch(_published, index);
                return at >= 0 ? at : ~at;
        }
    }

    /// <summary>The middle of bucket <paramref name="index"/> in the map's units, where the sum estimate counts each observation.</summary>
    /// <remarks>With overflow <c>max</c> the clamped top bucket has no upper bound: its observations count at its lower bound.</remarks>
    public double Midpoint(ulong index)
    {
        if (_plan.Overflow == HistogramOverflow.Max && index >= _plan.BucketMax)
        {
            return LowerBound(_plan.BucketMax);
        }

        return (LowerBound(index) + UpperBound(index)) / 2;
    }

    /// <summary>The upper bound of bucket <paramref name="index"/>, in the map's units.</summary>
    public double UpperBound(ulong index) => _plan.Type switch
    {
        BucketType.Exp2 => Math.ScaleB(1, (int)Math.Min(index, 1100)),
        BucketType.Exp2Zero => index == 0 ? 0 : Math.ScaleB(1, (int)Math.Min(index - 1, 1100)),
        BucketType.Linear => (index + 1.0) * _plan.Step,
        _ => index,
    };

    /// <summary>The lower bound of bucket <paramref name="index"/>, in the map's units: the upper bound of the bucket below, or 0.</summary>
    public double LowerBound(ulong index)
    {
        switch (_plan.Type)
        {
            case BucketType.Exp2:
                return index == 0 ? 0 : UpperBound(index - 1);
            case BucketType.Exp2Zero:
                return index <= 1 ? 0 : UpperBound(index - 1);
            case BucketType.Linear:
                return index * _plan.Step;
            default:
                int at = Array.BinarySearch(_keys, index);
                int below = (at >= 0 ? at : ~at) - 1;
                return below >= 0 ? _keys[below] : 0;
        }
    }

    /// <summary>Reads 1, 2, 4 or 8 bytes as an unsigned integer in host byte order.</summary>
    public static ulong ReadUnsigned(ReadOnlySpan<byte> b) => b.Length switch
    {
        1 => b[0],
        2 => BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b),
        4 => BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b),
        _ => BitConverter.IsLittleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(b) : BinaryPrimitives.ReadUInt64BigEndian(b),
    };
}
