using Microsoft.Extensions.Configuration;

namespace BpfMaps.Exporter;

/// <summary>
/// The strict key checks of the exporter configuration, made on the raw configuration tree before it is bound:
/// every field must be known (case-insensitively), hold a value, a list or an object as its kind says, and maps are
/// numbered without gaps. Also turns configuration paths into the form error messages use.
/// </summary>
internal static class ConfigKeys
{
    private static readonly string[] s_top = ["listen", "interval", "otlpEndpoint", "otlpProtocol", "otlpTemporality", "hostLabel", "hostname", "labels", "maxSeries", "maps"];
    private static readonly string[] s_map = ["map", "name", "mode", "key", "keyLabel", "labels", "metrics", "histogram", "expireAfter"];
    private static readonly string[] s_label = ["field", "name", "type", "offset", "size"];
    private static readonly string[] s_metric = ["field", "name", "help", "type", "offset", "kind", "perCpu"];
    private static readonly string[] s_histogram = ["name", "help", "bucketType", "bucketMin", "bucketMax", "bucketStep", "bucketKeys", "multiplier", "overflow", "bucket", "count", "sum"];
    private static readonly string[] s_histogramField = ["field", "offset", "size", "key"];
    private static readonly string[] s_histogramFields = ["bucket", "count", "sum"];

    /// <summary>
    /// Maps are numbered from 0 without gaps. A command-line override such as <c>--maps:5:map</c> past the
    /// file's maps would otherwise become the only map of a shorter list and be reported as <c>maps[0]</c>.
    /// </summary>
    internal static void CheckMapIndices(IConfiguration root)
    {
        var indices = root.GetSection("maps").GetChildren().Select(c => c.Key).Where(k => k.All(char.IsAsciiDigit))
            .Select(k => int.TryParse(k, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i) ? i : int.MaxValue)
            .Order().ToList();
        for (int expected = 0; expected < indices.Count; expected++)
        {
            if (indices[expected] != expected)
            {
                throw new ExporterConfigException($"maps[{indices[expected]}]",
                    $"maps are numbered from 0 without gaps, and there is no maps[{expected}]; a --maps:N:... option sets a field of map N, which the file (or another option) must have up to N");
            }
        }
    }

    /// <summary>
    /// <c>"labels": ["saddr"]</c> and <c>"metrics": ["bytes"]</c> name BTF fields: each string item becomes
    /// <c>{ "field": "saddr" }</c> before binding.
    /// </summary>
    internal static void ExpandFieldShorthands(IConfiguration root)
    {
        foreach (IConfigurationSection map in root.GetSection("maps").GetChildren())
        {
            // "bucket": "slot" in a histogram likewise.
            foreach (IConfigurationSection histogram in map.GetChildren().Where(f => f.Key.Equals("histogram", StringComparison.OrdinalIgnoreCase)))
            {
                foreach (IConfigurationSection field in histogram.GetChildren().Where(f => s_histogramFields.Contains(f.Key, StringComparer.OrdinalIgnoreCase)).ToList())
                {
                    if (!string.IsNullOrEmpty(field.Value))
                    {
                        string name = field.Value;
                        field.Value = null;
                        root[$"{field.Path}:field"] = name;
                    }
                }
            }

            foreach (IConfigurationSection list in map.GetChildren().Where(f => f.Key.Equals("labels", StringComparison.OrdinalIgnoreCase) || f.Key.Equals("metrics", StringComparison.OrdinalIgnoreCase)))
            {
                foreach (IConfigurationSection item in list.GetChildren().ToList())
                {
                    if (!string.IsNullOrEmpty(item.Value) && item.Key.All(char.IsAsciiDigit))
                    {
                        string field = item.Value;
                        item.Value = null;
                        root[$"{item.Path}:field"] = field;
                    }
                }
            }
        }
    }

    /// <summary>Turns a configuration path (<c>maps:0:labels:1:type</c>) into the form errors use (<c>maps[0].labels[1].type</c>).</summary>
    internal static string PathOf(string configPath)
    {
        var sb = new System.Text.StringBuilder();
        foreach (string part in configPath.Split(':'))
        {
            if (part.Length > 0 && part.All(char.IsAsciiDigit))
            {
                sb.Append('[').Append(part).Append(']');
            }
            else
            {
                if (sb.Length > 0)
                {
                    sb.Append('.');
                }

                sb.Append(Canonical(part));
            }
        }

        return sb.ToString();
    }

    private static string Canonical(string key)
    {
        foreach (string[] set in (ReadOnlySpan<string[]>)[s_top, s_map, s_label, s_metric, s_histogram, s_histogramField])
        {
            foreach (string k in set)
            {
                if (string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                {
                    return k;
                }
            }
        }

        return key;
    }

    internal static void CheckKeys(IConfiguration root)
    {
        foreach (IConfigurationSection s in root.GetChildren())
        {
            Expect(s, s_top);
            switch (s.Key.ToLowerInvariant())
            {
                case "labels":
                    if (!string.IsNullOrEmpty(s.Value))
                    {
                        throw new ExporterConfigException(PathOf(s.Path), "expected an object of label names and values, as in { \"dc\": \"fra1\" }");
                    }

                    foreach (IConfigurationSection l in s.GetChildren())
                    {
                        if (l.Value is null)
                        {
                            throw new ExporterConfigException(PathOf(l.Path), "a constant label's value must be a string");
                        }
                    }

                    break;
                case "maps":
                    foreach (IConfigurationSection map in Items(s))
                    {
                        foreach (IConfigurationSection f in map.GetChildren())
                        {
                            Expect(f, s_map);
                            if (string.Equals(f.Key, "labels", StringComparison.OrdinalIgnoreCase))
                            {
                                foreach (IConfigurationSection l in Items(f))
                                {
                                    ExpectAll(l, s_label);
                                }
                            }
                            else if (string.Equals(f.Key, "metrics", StringComparison.OrdinalIgnoreCase))
                            {
                                foreach (IConfigurationSection m in Items(f))
                                {
                                    ExpectAll(m, s_metric);
                                }
                            }
                            else if (string.Equals(f.Key, "histogram", StringComparison.OrdinalIgnoreCase))
                            {
                                CheckHistogramKeys(f);
                            }
                            else
                            {
                                ExpectValue(f);
                            }
                        }
                    }

                    break;
                default:
                    ExpectValue(s);
                    break;
            }
        }
    }

    private static void CheckHistogramKeys(IConfigurationSection histogram)
    {
        if (!string.IsNullOrEmpty(histogram.Value))
        {
            throw new ExporterConfigException(PathOf(histogram.Path), "expected an object, as in { \"name\": \"op_latency_seconds\", \"bucketType\": \"exp2\", \"bucketMax\": 26 }");
        }

        foreach (IConfigurationSection h in histogram.GetChildren())
        {
            Expect(h, s_histogram);
            if (s_histogramFields.Contains(h.Key, StringComparer.OrdinalIgnoreCase))
            {
                ExpectAll(h, s_histogramField);
            }
            else if (string.Equals(h.Key, "bucketKeys", StringComparison.OrdinalIgnoreCase))
            {
                if (!string.IsNullOrEmpty(h.Value))
                {
                    throw new ExporterConfigException(PathOf(h.Path), "expected a list of bucket keys, as in [1, 10, 100]");
                }

                foreach (IConfigurationSection k in h.GetChildren())
                {
                    if (!k.Key.All(char.IsAsciiDigit))
                    {
                        throw new ExporterConfigException(PathOf(h.Path), $"expected a list, found field '{k.Key}'");
                    }

                    ExpectValue(k);
                }
            }
            else
            {
                ExpectValue(h);
            }
        }
    }

    // The binder leaves a property at its default when it finds an object or a list there, so
    // "mode": ["drain"] would quietly dump; every field that takes one value must have one.
    private static void ExpectValue(IConfigurationSection field)
    {
        IConfigurationSection? child = field.GetChildren().FirstOrDefault();
        if (child is not null)
        {
            throw new ExporterConfigException(PathOf(field.Path), $"expected a value, found {(child.Key.All(char.IsAsciiDigit) ? "a list" : "an object")}");
        }
    }

    private static IEnumerable<IConfigurationSection> Items(IConfigurationSection list)
    {
        // An empty JSON list arrives as an empty value.
        if (!string.IsNullOrEmpty(list.Value))
        {
            throw new ExporterConfigException(PathOf(list.Path), "expected a list");
        }

        foreach (IConfigurationSection item in list.GetChildren())
        {
            if (!item.Key.All(char.IsAsciiDigit))
            {
                throw new ExporterConfigException(PathOf(list.Path), $"expected a list, found field '{item.Key}'");
            }

            if (!string.IsNullOrEmpty(item.Value))
            {
                throw new ExporterConfigException(PathOf(item.Path), "expected an object");
            }

            yield return item;
        }
    }

    private static void ExpectAll(IConfigurationSection obj, string[] known)
    {
        foreach (IConfigurationSection f in obj.GetChildren())
        {
            Expect(f, known);
            ExpectValue(f);
        }
    }

    private static void Expect(IConfigurationSection field, string[] known)
    {
        foreach (string k in known)
        {
            if (string.Equals(k, field.Key, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        throw new ExporterConfigException(PathOf(field.Path), $"unknown field (known: {string.Join(", ", known)})");
    }
}
