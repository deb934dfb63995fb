using System.Globalization;

namespace BpfMaps.Exporter;

/// <summary>
/// Compiles a map's <see cref="HistogramOptions"/> into a <see cref="HistogramPlan"/>: bucket type and range,
/// bucket keys, the bucket, count and sum fields, and the published names.
/// </summary>
internal static class HistogramPlanCompiler
{
    /// <summary>The most buckets a linear or fixed histogram may publish.</summary>
    internal const int MaxBuckets = 4096;

    internal static HistogramPlan Compile(string hp, HistogramOptions o, Dictionary<string, string> metricNames)
    {
        if (string.IsNullOrEmpty(o.Name))
        {
            throw new ExporterConfigException($"{hp}.name", "missing; the histogram's metric name, e.g. op_latency_seconds");
        }

        if (!PlanCompiler.MetricName().IsMatch(o.Name))
        {
            throw new ExporterConfigException($"{hp}.name", $"'{o.Name}' is not a metric name ([a-zA-Z][a-zA-Z0-9_]*)");
        }

        if (o.Name.StartsWith("bpfmap_exporter_", StringComparison.Ordinal))
        {
            throw new ExporterConfigException($"{hp}.name", $"'{o.Name}': the prefix bpfmap_exporter_ is reserved for the exporter's own metrics");
        }

        BucketType type = (o.BucketType ?? "").ToLowerInvariant() switch
        {
            "exp2" => BucketType.Exp2,
            "exp2zero" => BucketType.Exp2Zero,
            "linear" => BucketType.Linear,
            "fixed" => BucketType.Fixed,
            _ => throw new ExporterConfigException($"{hp}.bucketType", o.BucketType is null
                ? "missing; expected exp2, exp2zero, linear or fixed"
                : $"'{o.BucketType}' is not exp2, exp2zero, linear or fixed"),
        };

        HistogramOverflow overflow = (o.Overflow ?? "error").ToLowerInvariant() switch
        {
            "error" => HistogramOverflow.Error,
            "inf" => HistogramOverflow.Inf,
            "max" => HistogramOverflow.Max,
            _ => throw new ExporterConfigException($"{hp}.overflow", $"'{o.Overflow}' is not error, inf or max"),
        };

        double multiplier = o.Multiplier ?? 1;
        if (!double.IsFinite(multiplier) || multiplier <= 0)
        {
            throw new ExporterConfigException($"{hp}.multiplier", $"{multiplier.ToString(CultureInfo.InvariantCulture)} must be a positive number, e.g. 1e-6 for microseconds to seconds");
        }

        double step = 1;
        if (o.BucketStep is { } st)
        {
            if (type != BucketType.Linear)
            {
                throw new ExporterConfigException($"{hp}.bucketStep", "only linear buckets have a step");
            }

            if (!double.IsFinite(st) || st <= 0)
            {
                throw new ExporterConfigException($"{hp}.bucketStep", $"{st.ToString(CultureInfo.InvariantCulture)} must be a positive number");
            }

            step = st;
        }

        ulong[] keys = [];
        if (o.BucketKeys is { Count: > 0 } listed)
        {
            if (type != BucketType.Fixed)
            {
                throw new ExporterConfigException($"{hp}.bucketKeys", "only fixed buckets list their keys");
            }

            if (listed.Count > MaxBuckets)
            {
                throw new ExporterConfigException($"{hp}.bucketKeys", $"{listed.Count} keys; at most {MaxBuckets}");
            }

            for (int i = 1; i < listed.Count; i++)
            {
                if (listed[i] <= listed[i - 1])
                {
                    throw new ExporterConfigException($"{hp}.bucketKeys[{i}]", $"{listed[i]} is not above {listed[i - 1]}; keys are upper bounds, increasing");
                }
            }

            keys = [.. listed];
        }
        else if (type == BucketType.Fixed)
        {
            throw new ExporterConfigException($"{hp}.bucketKeys", "missing; fixed buckets list their keys, the upper bounds the program writes into the bucket field, e.g. [1, 10, 100]");
        }

        long min = o.BucketMin ?? (type == BucketType.Fixed ? (long)Math.Min(keys[0], long.MaxValue) : 0);
        if (min < 0)
        {
            throw new ExporterConfigException($"{hp}.bucketMin", $"{min} is negative");
        }

        long max = o.BucketMax ?? (type == BucketType.Fixed ? (long)Math.Min(keys[^1], long.MaxValue)
            : throw new ExporterConfigException($"{hp}.bucketMax", type is BucketType.Linear
                ? "missing; the highest bucket published"
                : "missing; the highest bucket published, e.g. 26 for values up to 2^26"));
        if (max < min)
        {
            throw new ExporterConfigException($"{hp}.bucketMax", $"{max} is below bucketMin {min}");
        }

        if (overflow == HistogramOverflow.Max && max == min)
        {
            throw new ExporterConfigException($"{hp}.overflow", "'max' publishes the bucketMax bucket in +Inf only, so bucketMax must be above bucketMin");
        }

        ulong top = type == BucketType.Exp2Zero ? HistogramBuckets.Exp2Top + 1 : HistogramBuckets.Exp2Top;
        if (type is BucketType.Exp2 or BucketType.Exp2Zero && (ulong)max > top)
        {
            throw new ExporterConfigException($"{hp}.bucketMax", $"{max} is above {top}: {(type == BucketType.Exp2 ? "bucket i holds values up to 2^i" : "bucket i holds values up to 2^(i-1)")}, so no 64-bit value needs a higher one");
        }

        if (type == BucketType.Linear && max - min >= MaxBuckets)
        {
            throw new ExporterConfigException($"{hp}.bucketMax", $"bucketMin {min} to bucketMax {max} is {max - min + 1} buckets; at most {MaxBuckets}");
        }

        if (type == BucketType.Fixed && !keys.Any(k => k >= (ulong)min && k <= (ulong)max))
        {
            throw new ExporterConfigException($"{hp}.bucketMin", $"no bucket key lies between bucketMin {min} and bucketMax {max}");
        }

        HistogramField? bucket = CompileField($"{hp}.bucket", "histogram.bucket", o.Bucket, sizeRequired: true);
        HistogramField? count = CompileField($"{hp}.count", "histogram.count", o.Count, sizeRequired: false);
        HistogramField? sumField = null;
        ulong? sumKey = null;
        if (o.Sum is { Key: { } k } sum)
        {
            if (sum.Field is not null || sum.Offset is not null || sum.Size is not null)
            {
                throw new ExporterConfigException($"{hp}.sum", "give 'key' (the bucket index whose count is the sum) or a value field, not both");
            }

            if (k <= (ulong)max || (type == BucketType.Fixed && keys.Contains(k)))
            {
                throw new ExporterConfigException($"{hp}.sum.key", $"{k} is one of the buckets (up to bucketMax {max}); the sum key must be above them, as ebpf_exporter's bucketMax + 1");
            }

            sumKey = k;
        }
        else
        {
            sumField = CompileField($"{hp}.sum", "histogram.sum", o.Sum, sizeRequired: false);
        }

        var plan = new HistogramPlan(o.Name, o.Help, type, (ulong)min, (ulong)max, step, keys, multiplier, overflow)
        {
            Bucket = bucket,
            Count = count,
            SumField = sumField,
            SumKey = sumKey,
        };
        foreach (string published in plan.PublishedNames)
        {
            if (!metricNames.TryAdd(published, hp))
            {
                throw new ExporterConfigException($"{hp}.name", $"'{o.Name}' publishes {published}, which {metricNames[published]} already uses");
            }
        }

        return plan;
    }

    private static HistogramField? CompileField(string fp, string relative, HistogramFieldOptions? f, bool sizeRequired)
    {
        if (f is null)
        {
            return null;
        }

        if (f.Key is not null)
        {
            throw new ExporterConfigException($"{fp}.key", "only 'sum' can be a key");
        }

        if (f.Field is not null)
        {
            if (f.Offset is not null || f.Size is not null)
            {
                throw new ExporterConfigException($"{fp}.field", "give a BTF 'field' or 'offset' and 'size', not both: BTF says where the field is");
            }

            if (!PlanCompiler.FieldPath().IsMatch(f.Field))
            {
                throw new ExporterConfigException($"{fp}.field", $"'{f.Field}' is not a field name such as slot or hist.bucket");
            }

            return new HistogramField(relative, 0, 0) { BtfPath = f.Field };
        }

        if (f.Offset is null && f.Size is null)
        {
            throw new ExporterConfigException(fp, "give 'field' (a BTF field name) or 'offset' and 'size'");
        }

        int offset = f.Offset ?? 0;
        if (offset < 0)
        {
            throw new ExporterConfigException($"{fp}.offset", $"{offset} is negative");
        }

        if (f.Size is null && sizeRequired)
        {
            throw new ExporterConfigException($"{fp}.size", "missing; the bucket index is 1, 2, 4 or 8 bytes");
        }

        int size = f.Size ?? 8;
        if (size is not (1 or 2 or 4 or 8))
        {
            throw new ExporterConfigException($"{fp}.size", $"{size} is not 1, 2, 4 or 8 (an unsigned integer in host byte order)");
        }

        return new HistogramField(relative, offset, size);
    }
}
