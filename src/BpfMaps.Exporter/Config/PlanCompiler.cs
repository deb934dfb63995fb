using System.Text.RegularExpressions;
using BpfMaps.Exporter.Decoding;
using ValueType = BpfMaps.Exporter.Decoding.ValueType;

namespace BpfMaps.Exporter;

/// <summary>
/// Compiles bound <see cref="ExporterOptions"/> into an <see cref="ExportPlan"/>: validates every value and parses
/// every name, selector and decoder (histograms in <see cref="HistogramPlanCompiler"/>). Every error is an
/// <see cref="ExporterConfigException"/> naming the field.
/// </summary>
internal static partial class PlanCompiler
{
    /// <summary>Validates the options and parses every name, selector and decoder.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ExporterConfigException">A value is invalid.</exception>
    internal static ExportPlan Compile(ExporterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (string? host, int port) = ConfigValues.ParseListen(options.Listen);
        TimeSpan interval = ConfigValues.ParseInterval(options.Interval)
            ?? throw new ExporterConfigException("interval", $"'{options.Interval}' is not a duration such as 500ms, 10s or 1m (at least 10ms, at most 1h)");

        Uri? otlp = null;
        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint)
            && (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out otlp) || otlp.Scheme is not ("http" or "https")))
        {
            throw new ExporterConfigException("otlpEndpoint", $"'{options.OtlpEndpoint}' is not an http:// or https:// URL");
        }

        bool otlpHttp = (options.OtlpProtocol ?? "grpc").ToLowerInvariant() switch
        {
            "grpc" => false,
            "http" or "http/protobuf" => true,
            _ => throw new ExporterConfigException("otlpProtocol", $"'{options.OtlpProtocol}' is not 'grpc' or 'http'"),
        };

        bool otlpDelta = (options.OtlpTemporality ?? "delta").ToLowerInvariant() switch
        {
            "delta" => true,
            "cumulative" => false,
            _ => throw new ExporterConfigException("otlpTemporality", $"'{options.OtlpTemporality}' is not 'delta' or 'cumulative'"),
        };

        var constant = new List<KeyValuePair<string, string>>();
        if (!string.IsNullOrEmpty(options.HostLabel))
        {
            CheckLabelName("hostLabel", options.HostLabel);
            CheckNotSelfLabel("hostLabel", options.HostLabel);
            string hostname = string.IsNullOrWhiteSpace(options.Hostname) ? Environment.MachineName : options.Hostname;
            constant.Add(new(options.HostLabel, hostname));
        }

        foreach ((string k, string v) in options.Labels.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            CheckLabelName($"labels.{k}", k);
            CheckNotSelfLabel($"labels.{k}", k);
            if (constant.Any(c => c.Key == k))
            {
                throw new ExporterConfigException($"labels.{k}", "duplicates the host label");
            }

            constant.Add(new(k, v));
        }

        if (options.MaxSeries is < 1 or > 10_000_000)
        {
            throw new ExporterConfigException("maxSeries", $"{options.MaxSeries} is out of range (1 to 10000000)");
        }

        if (options.Maps.Count == 0)
        {
            throw new ExporterConfigException("maps", "no maps to export; add at least one { \"map\": \"pinned /sys/fs/bpf/NAME\", \"metrics\": [...] }");
        }

        var maps = new List<MapPlan>();
        var metricNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var mapLabels = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Maps.Count; i++)
        {
            MapPlan map = CompileMap(i, options.Maps[i], constant, metricNames);
            if (!mapLabels.Add(map.Label))
            {
                throw new ExporterConfigException($"{map.Path}.name", $"another map is already called '{map.Label}'; give each map a distinct name");
            }

            maps.Add(map);
        }

        return new ExportPlan(host, port, interval, otlp, otlpHttp, otlpDelta, constant, options.MaxSeries, maps);
    }

    private static MapPlan CompileMap(int index, MapOptions o, List<KeyValuePair<string, string>> constant, Dictionary<string, string> metricNames)
    {
        string path = $"maps[{index}]";
        if (o is null)
        {
            throw new ExporterConfigException(path, "expected an object");
        }

        if (string.IsNullOrWhiteSpace(o.Map))
        {
            throw new ExporterConfigException($"{path}.map", "missing; expected 'id N', 'pinned PATH' or 'name NAME'");
        }

        MapSelector selector = MapSelector.TryParse(o.Map, out string? selectorError)
            ?? throw new ExporterConfigException($"{path}.map", selectorError!);

        bool drain = (o.Mode ?? "dump").ToLowerInvariant() switch
        {
            "dump" => false,
            "drain" => true,
            _ => throw new ExporterConfigException($"{path}.mode", $"'{o.Mode}' is not 'dump' or 'drain'"),
        };

        TimeSpan expire = drain ? TimeSpan.FromMinutes(10) : TimeSpan.Zero;
        if (o.ExpireAfter is { } e)
        {
            string t = e.Trim();
            TimeSpan? parsed = ConfigValues.ParseExpiry(t);
            expire = (t, drain) switch
            {
                ("never", true) => TimeSpan.Zero,
                ("0", false) => TimeSpan.Zero,
                _ when parsed is { } p => p,
                _ => throw new ExporterConfigException($"{path}.expireAfter", drain
                    ? $"'{e}' is not a duration such as 30s, 10m or 2h, or never (drained counters never expire)"
                    : $"'{e}' is not a duration such as 30s, 10m or 2h, or 0 (a key that left the map is removed at once)"),
            };
        }

        var labels = new List<LabelField>();
        if (o.Key is not null)
        {
            if (o.Labels.Count > 0)
            {
                throw new ExporterConfigException($"{path}.key", "give either 'key' (one label from the whole key) or 'labels', not both");
            }

            if (!Decoders.TryParseField(o.Key, out FieldType kt))
            {
                throw new ExporterConfigException($"{path}.key", $"unknown decoder '{o.Key}' (expected one of {string.Join(", ", Decoders.FieldTypeNames)})");
            }

            CheckLabelName($"{path}.keyLabel", o.KeyLabel);
            labels.Add(new LabelField(o.KeyLabel, kt, 0, null, "key"));
        }

        for (int j = 0; j < o.Labels.Count; j++)
        {
            string lp = $"{path}.labels[{j}]";
            LabelOptions l = o.Labels[j] ?? throw new ExporterConfigException(lp, "expected an object");
            if (l.Field is not null)
            {
                labels.Add(CompileFieldLabel(lp, j, l));
                continue;
            }

            if (string.IsNullOrEmpty(l.Name))
            {
                throw new ExporterConfigException($"{lp}.name", "missing (or give 'field' to name a BTF field of the key)");
            }

            CheckLabelName($"{lp}.name", l.Name);
            if (!Decoders.TryParseField(l.Type, out FieldType ft))
            {
                throw new ExporterConfigException($"{lp}.type", l.Type is null
                    ? $"missing; expected one of {string.Join(", ", Decoders.FieldTypeNames)}"
                    : $"unknown decoder '{l.Type}' (expected one of {string.Join(", ", Decoders.FieldTypeNames)})");
            }

            if (l.Offset < 0)
            {
                throw new ExporterConfigException($"{lp}.offset", $"{l.Offset} is negative");
            }

            if (l.Size is { } size)
            {
                if (Decoders.FixedSize(ft) is { } fixedSize && size != fixedSize)
                {
                    throw new ExporterConfigException($"{lp}.size", $"{l.Type} is always {fixedSize} bytes; size {size} does not fit (size is for hex and string)");
                }

                if (size <= 0)
                {
                    throw new ExporterConfigException($"{lp}.size", $"{size} must be positive");
                }
            }

            labels.Add(new LabelField(l.Name, ft, l.Offset, l.Size, $"labels[{j}]"));
        }

        var seen = new HashSet<string>(constant.Select(c => c.Key), StringComparer.Ordinal);
        foreach (LabelField l in labels)
        {
            if (!seen.Add(l.Name))
            {
                throw new ExporterConfigException($"{path}.labels", $"label '{l.Name}' appears twice (or clashes with a constant label)");
            }
        }

        string label = string.IsNullOrWhiteSpace(o.Name) ? selector.DefaultLabel : o.Name;
        if (o.Histogram is { } histogram)
        {
            if (o.Metrics.Count > 0)
            {
                throw new ExporterConfigException($"{path}.histogram", "give either 'metrics' or 'histogram', not both: each entry of a histogram map counts one bucket");
            }

            // Bucket series carry the bound in 'le'; a label of that name would be a second one.
            if (constant.FirstOrDefault(c => c.Key == "le") is { Key: not null } le)
            {
                throw new ExporterConfigException($"labels.{le.Key}", "'le' is the bucket bound label of histograms, and maps[" + index + "] is a histogram; choose another name");
            }

            if (labels.FirstOrDefault(l => l.Name == "le") is { } leLabel)
            {
                throw new ExporterConfigException($"{path}.{(leLabel.Field == "key" ? "keyLabel" : leLabel.Field + ".name")}", "'le' is the bucket bound label of a histogram; choose another name");
            }

            HistogramPlan h = HistogramPlanCompiler.Compile($"{path}.histogram", histogram, metricNames);
            return new MapPlan(index, selector, label, drain, labels, []) { Histogram = h, ExpireAfter = expire };
        }

        if (o.Metrics.Count == 0)
        {
            if (labels.Count > 0)
            {
                throw new ExporterConfigException($"{path}.metrics", "no metrics; add at least one { \"name\": \"...\", \"type\": \"u64\" }, or a BTF field name");
            }

            // Zero-config: with BTF, every key field a label and every numeric value field a metric,
            // resolved when the map is opened.
            return new MapPlan(index, selector, label, drain, labels, []) { ZeroConfig = true, ExpireAfter = expire };
        }

        var metrics = new List<MetricPlan>();
        for (int j = 0; j < o.Metrics.Count; j++)
        {
            string mp = $"{path}.metrics[{j}]";
            MetricOptions m = o.Metrics[j] ?? throw new ExporterConfigException(mp, "expected an object");
            if (string.IsNullOrEmpty(m.Name) && m.Field is null)
            {
                throw new ExporterConfigException($"{mp}.name", "missing (or give 'field' to name a BTF field of the value)");
            }

            if (m.Field is not null && (m.Offset != 0 || !string.Equals(m.Type, "u64", StringComparison.OrdinalIgnoreCase)))
            {
                throw new ExporterConfigException($"{mp}.field", "give a BTF 'field' or 'type' and 'offset', not both: BTF says where the field is and what it holds");
            }

            if (m.Field is not null && !FieldPath().IsMatch(m.Field))
            {
                throw new ExporterConfigException($"{mp}.field", $"'{m.Field}' is not a field name such as bytes, stats.drops or slots[2]");
            }

            if (!string.IsNullOrEmpty(m.Name) && !MetricName().IsMatch(m.Name))
            {
                throw new ExporterConfigException($"{mp}.name", $"'{m.Name}' is not a metric name ([a-zA-Z][a-zA-Z0-9_]*)");
            }

            if (m.Name?.StartsWith("bpfmap_exporter_", StringComparison.Ordinal) == true)
            {
                throw new ExporterConfigException($"{mp}.name", $"'{m.Name}': the prefix bpfmap_exporter_ is reserved for the exporter's own metrics");
            }


            if (!Decoders.TryParseValue(m.Type, out ValueType vt))
            {
                throw new ExporterConfigException($"{mp}.type", $"unknown value type '{m.Type}' (expected one of {string.Join(", ", Decoders.ValueTypeNames)})");
            }

            if (m.Offset < 0)
            {
                throw new ExporterConfigException($"{mp}.offset", $"{m.Offset} is negative");
            }

            bool counter = (m.Kind ?? (drain ? "counter" : "gauge")).ToLowerInvariant() switch
            {
                "counter" => true,
                "gauge" => false,
                _ => throw new ExporterConfigException($"{mp}.kind", $"'{m.Kind}' is not 'counter' or 'gauge'"),
            };

            if (drain && !counter)
            {
                throw new ExporterConfigException($"{mp}.kind", "drain mode reads deltas, which only make counters; use mode 'dump' for gauges");
            }

            if (!Decoders.TryParsePerCpu(m.PerCpu ?? "sum", out PerCpuMode pc))
            {
                throw new ExporterConfigException($"{mp}.perCpu", $"'{m.PerCpu}' is not one of {string.Join(", ", Decoders.PerCpuNames)}");
            }

            if (pc == PerCpuMode.EachCpu && seen.Contains("cpu"))
            {
                throw new ExporterConfigException($"{mp}.perCpu", "'cpu' adds a label 'cpu', which this map already has");
            }

            if (counter && drain && pc is PerCpuMode.Min or PerCpuMode.Max or PerCpuMode.Avg)
            {
                throw new ExporterConfigException($"{mp}.perCpu", $"'{m.PerCpu}' of deltas does not accumulate into a counter; use 'sum' or 'cpu'");
            }

            // Counters are published as NAME_total: "x" as a counter and "x_total" as a gauge would collide.
            // A name derived from a BTF field is only known once the map is open; it is checked then.
            if (!string.IsNullOrEmpty(m.Name))
            {
                string published = counter && !m.Name.EndsWith("_total", StringComparison.Ordinal) ? m.Name + "_total" : m.Name;
                if (!metricNames.TryAdd(published, mp))
                {
                    throw new ExporterConfigException($"{mp}.name", $"'{m.Name}' is published as {published}, which {metricNames[published]} already uses");
                }
            }

            metrics.Add(new MetricPlan(m.Name ?? string.Empty, m.Help, vt, m.Offset, counter, pc, m.PerCpu is not null) { BtfPath = m.Field });
        }

        return new MapPlan(index, selector, label, drain, labels, metrics) { ExpireAfter = expire };
    }

    [GeneratedRegex("^[a-zA-Z][a-zA-Z0-9_]*$")]
    internal static partial Regex MetricName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*)*$")]
    internal static partial Regex FieldPath();

    private static LabelField CompileFieldLabel(string lp, int j, LabelOptions l)
    {
        if (!FieldPath().IsMatch(l.Field!))
        {
            throw new ExporterConfigException($"{lp}.field", $"'{l.Field}' is not a field name such as saddr, inner.port or slots[2]");
        }

        if (l.Offset != 0 || l.Size is not null)
        {
            throw new ExporterConfigException($"{lp}.field", "give a BTF 'field' or 'offset' and 'size', not both: BTF says where the field is");
        }

        FieldType ft = FieldType.Hex;
        if (l.Type is not null && !Decoders.TryParseField(l.Type, out ft))
        {
            throw new ExporterConfigException($"{lp}.type", $"unknown decoder '{l.Type}' (expected one of {string.Join(", ", Decoders.FieldTypeNames)})");
        }

        string name = l.Name ?? BtfFieldResolver.LabelName(l.Field!, "key");
        CheckLabelName($"{lp}.name", name);
        return new LabelField(name, ft, 0, null, $"labels[{j}]") { BtfPath = l.Field, Decoded = l.Type is not null };
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    private static void CheckLabelName(string path, string name)
    {
        if (!LabelName().IsMatch(name) || name.StartsWith("__", StringComparison.Ordinal))
        {
            throw new ExporterConfigException(path, $"'{name}' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
        }
    }

    // Constant labels go on every series, the exporter's own included; prometheus-net refuses a
    // family whose label names repeat, which would crash the start.
    private static void CheckNotSelfLabel(string path, string name)
    {
        if (name is "map" or "reason")
        {
            throw new ExporterConfigException(path, $"'{name}' is a label of the exporter's own metrics (map, reason); choose another name");
        }
    }
}
