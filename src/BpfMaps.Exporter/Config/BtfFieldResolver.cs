using System.Text;
using BpfMaps.Btf;
using BpfMaps.Exporter.Decoding;
using BpfMaps.Exporter.Reading;

namespace BpfMaps.Exporter;

/// <summary>
/// Turns the fields a map's configuration names by BTF (<c>"labels": ["saddr"]</c>, <c>"metrics": ["bytes"]</c>),
/// or the whole key and value of a zero-config map, into labels and metrics with the offsets, sizes and
/// types the map's BTF gives them.
/// </summary>
internal static class BtfFieldResolver
{
    /// <summary>The plan with every BTF field resolved against <paramref name="map"/>.</summary>
    /// <exception cref="MapReadException">The map has no BTF, a field does not exist (the message lists the fields there are), or a decoder does not fit a field.</exception>
    public static MapPlan Resolve(MapPlan plan, BpfMap map)
    {
        if (!plan.NeedsBtf)
        {
            return plan;
        }

        string what = $"map '{map.Name}' (id {map.Id}, {map.Type.KernelName()})";
        BtfEntryFormatter? btf;
        try
        {
            btf = map.GetBtfFormatter();
        }
        catch (BtfException e)
        {
            throw new MapReadException("layout", "map", $"{what}: {e.Message}", e);
        }

        if (btf is null)
        {
            throw new MapReadException("layout", plan.ZeroConfig ? "metrics" : "map",
                plan.ZeroConfig
                    ? $"{what} has no BTF, so there are no fields to export by default; give 'labels' and 'metrics' by offset and type"
                    : $"{what} has no BTF; name fields by offset and type instead");
        }

        IReadOnlyList<BtfField> keyFields = btf.Key?.Fields ?? [];
        IReadOnlyList<BtfField> valueFields = btf.Value.Fields;
        var labels = new List<LabelField>();
        var metrics = new List<MetricPlan>();
        if (plan.ZeroConfig)
        {
            labels.AddRange(keyFields.Select(f => new LabelField(LabelName(f.Path, "key"), FieldType.Hex, 0, null, "labels") { BtfPath = f.Path, Btf = f, Decoded = false }));
            foreach (BtfField f in valueFields.Where(f => f.Kind is BtfFieldKind.Unsigned or BtfFieldKind.Signed or BtfFieldKind.Bits or BtfFieldKind.Float or BtfFieldKind.Boolean))
            {
                metrics.Add(new MetricPlan(MetricName(plan.Label, f.Path), null, Decoding.ValueType.U64, 0, plan.Drain, PerCpuMode.Sum, false) { BtfPath = f.Path, Btf = f });
            }

            if (metrics.Count == 0)
            {
                throw new MapReadException("layout", "metrics", $"{what} has no numeric value fields to export; its fields are {Names(valueFields)}");
            }
        }
        else
        {
            for (int i = 0; i < plan.Labels.Count; i++)
            {
                LabelField l = plan.Labels[i];
                if (l.BtfPath is null)
                {
                    labels.Add(l);
                    continue;
                }

                BtfField f = keyFields.FirstOrDefault(k => k.Path == l.BtfPath)
                    ?? throw new MapReadException("layout", $"{l.Field}.field", keyFields.Count == 0
                        ? $"{what} has no key type in its BTF"
                        : $"no field '{l.BtfPath}' in the key of {what}; its fields are {Names(keyFields)}");
                if (l.Decoded && Decoders.FixedSize(l.Type) is { } size && size != f.Size)
                {
                    throw new MapReadException("layout", $"{l.Field}.type", $"{l.Type.ToString().ToLowerInvariant()} needs {size} bytes but field '{f.Path}' of {what} has {f.Size}");
                }

                labels.Add(l with { Btf = f, Name = l.Name.Length == 0 ? LabelName(f.Path, "key") : l.Name });
            }

            for (int i = 0; i < plan.Metrics.Count; i++)
            {
                MetricPlan m = plan.Metrics[i];
                if (m.BtfPath is null)
                {
                    metrics.Add(m);
                    continue;
                }

                BtfField f = valueFields.FirstOrDefault(v => v.Path == m.BtfPath)
                    ?? throw new MapReadException("layout", $"metrics[{i}].field", $"no field '{m.BtfPath}' in the value of {what}; its fields are {Names(valueFields)}");
                if (!f.IsNumeric)
                {
                    throw new MapReadException("layout", $"metrics[{i}].field", $"field '{f.Path}' of {what} is {f.Kind.ToString().ToLowerInvariant()}, not a number; numeric fields are {Names(valueFields.Where(v => v.IsNumeric).ToList())}");
                }

                metrics.Add(m with { Btf = f, Name = m.Name.Length == 0 ? MetricName(plan.Label, f.Path) : m.Name });
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (LabelField l in labels)
        {
            if (!seen.Add(l.Name))
            {
                throw new MapReadException("layout", "labels", $"label '{l.Name}' appears twice");
            }

            if (plan.Histogram is not null && l.Name == "le")
            {
                throw new MapReadException("layout", $"{l.Field}.name", $"label 'le' (from field '{l.BtfPath}') is the bucket bound label of a histogram; give the label a 'name'");
            }
        }

        HistogramPlan? histogram = plan.Histogram is { } h
            ? h with
            {
                Bucket = ResolveHistogramField(h.Bucket, keyFields, "key", what),
                Count = ResolveHistogramField(h.Count, valueFields, "value", what),
                SumField = ResolveHistogramField(h.SumField, valueFields, "value", what),
            }
            : null;
        return plan with { Labels = labels, Metrics = metrics, ZeroConfig = false, Histogram = histogram };
    }

    /// <summary>A histogram field named by BTF, resolved: an integer of 1, 2, 4 or 8 bytes.</summary>
    private static HistogramField? ResolveHistogramField(HistogramField? f, IReadOnlyList<BtfField> fields, string where, string what)
    {
        if (f?.BtfPath is null)
        {
            return f;
        }

        BtfField b = fields.FirstOrDefault(k => k.Path == f.BtfPath)
            ?? throw new MapReadException("layout", $"{f.Path}.field", fields.Count == 0
                ? $"{what} has no {where} type in its BTF"
                : $"no field '{f.BtfPath}' in the {where} of {what}; its fields are {Names(fields)}");
        if (b.Kind is not (BtfFieldKind.Unsigned or BtfFieldKind.Signed) || b.Size is not (1 or 2 or 4 or 8))
        {
            throw new MapReadException("layout", $"{f.Path}.field", $"field '{b.Path}' of {what} is {b.Kind.ToString().ToLowerInvariant()} of {b.Size} bytes; a bucket index, count or sum is an integer of 1, 2, 4 or 8 bytes");
        }

        return f with { Btf = b };
    }

    /// <summary>A label name from a field path: <c>saddr</c>, <c>inner_port</c>, <c>slots_2</c>; a scalar key is <paramref name="whole"/>.</summary>
    public static string LabelName(string path, string whole) => path.Length == 0 ? whole : Sanitize(path);

    /// <summary>A metric name from the map's label and a field path: <c>flows_bytes</c>.</summary>
    public static string MetricName(string mapLabel, string path) => Sanitize(path.Length == 0 ? mapLabel : $"{mapLabel}_{path}");

    private static string Sanitize(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        string r = sb.ToString().Trim('_');
        while (r.Contains("__", StringComparison.Ordinal))
        {
            r = r.Replace("__", "_", StringComparison.Ordinal);
        }

        return r.Length == 0 || char.IsAsciiDigit(r[0]) ? "f_" + r : r;
    }

    private static string Names(IReadOnlyList<BtfField> fields) => fields.Count == 0 ? "(none)" : string.Join(", ", fields.Select(f => f.Path.Length == 0 ? "(the whole value)" : f.Path));
}
