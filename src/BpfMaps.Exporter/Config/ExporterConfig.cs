using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using BpfMaps.Exporter.Decoding;
using Microsoft.Extensions.Configuration;
using ValueType = BpfMaps.Exporter.Decoding.ValueType;

namespace BpfMaps.Exporter;

/// <summary>
/// Reads the exporter configuration from a JSON file and command-line options, rejects unknown
/// fields, and validates it. Every error is an <see cref="ExporterConfigException"/> whose message
/// is one line naming the field.
/// </summary>
public static partial class ExporterConfig
{
    /// <summary>
    /// Command-line options and the fields they set. Anything else can be given as
    /// <c>--field value</c> or <c>--maps:0:map "pinned /sys/fs/bpf/x"</c> (configuration paths).
    /// </summary>
    public static IReadOnlyDictionary<string, string> SwitchMappings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["--listen"] = "listen",
        ["--interval"] = "interval",
        ["--otlp-endpoint"] = "otlpEndpoint",
        ["--otlp-protocol"] = "otlpProtocol",
        ["--otlp-temporality"] = "otlpTemporality",
        ["--host-label"] = "hostLabel",
        ["--hostname"] = "hostname",
        ["--max-series"] = "maxSeries",
    };

    private static readonly string[] s_top = ["listen", "interval", "otlpEndpoint", "otlpProtocol", "otlpTemporality", "hostLabel", "hostname", "labels", "maxSeries", "maps"];
    private static readonly string[] s_map = ["map", "name", "mode", "key", "keyLabel", "labels", "metrics", "histogram", "expireAfter"];
    private static readonly string[] s_label = ["field", "name", "type", "offset", "size"];
    private static readonly string[] s_metric = ["field", "name", "help", "type", "offset", "kind", "perCpu"];
    private static readonly string[] s_histogram = ["name", "help", "bucketType", "bucketMin", "bucketMax", "bucketStep", "bucketKeys", "multiplier", "overflow", "bucket", "count", "sum"];
    private static readonly string[] s_histogramField = ["field", "offset", "size", "key"];
    private static readonly string[] s_histogramFields = ["bucket", "count", "sum"];

    /// <summary>
    /// Reads <paramref name="path"/> (JSON; optional) and then <paramref name="args"/> (command-line
    /// options, which win), and validates the result.
    /// </summary>
    /// <param name="path">The JSON file, or null.</param>
    /// <param name="args">Command-line options such as <c>--listen 127.0.0.1:9500</c>; see <see cref="SwitchMappings"/>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ExporterConfigException">The file is missing or not JSON, a field is unknown, or a value is invalid.</exception>
    public static ExporterOptions Load(string? path, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var builder = new ConfigurationBuilder();
        if (path is not null)
        {
            string full = System.IO.Path.GetFullPath(path);
            if (RegularFile.WhyNot(full) is { } notAFile)
            {
                // A FIFO would block the read forever, a directory is not "not found", and a bpffs pin
                // reads as the kernel's rendering of a map.
                throw new ExporterConfigException("", $"config file {notAFile.Replace(full, $"'{path}'", StringComparison.Ordinal)}");
            }

            if (!File.Exists(full))
            {
                throw new ExporterConfigException("", $"config file '{path}' not found");
            }

            CheckJson(path, full);
            builder.AddJsonFile(full, optional: false, reloadOnChange: false);
        }

        CheckArgs(args);
        builder.AddCommandLine([.. args], new Dictionary<string, string>(SwitchMappings));
        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or FileNotFoundException or System.Text.Json.JsonException)
        {
            string inner = e.InnerException?.Message ?? e.Message;
            throw new ExporterConfigException("", $"{path ?? "command line"}: {OneLine(inner)}");
        }

        return Bind(root);
    }

    /// <summary>Parses the file as the JSON provider will, to name the line and column of a syntax error, which the provider's message leaves out.</summary>
    private static void CheckJson(string path, string full)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(full), new System.Text.Json.JsonDocumentOptions
            {
                CommentHandling = System.Text.Json.JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        }
        catch (System.Text.Json.JsonException e)
        {
            // JsonException counts lines and bytes from 0.
            string where = e.LineNumber is { } line ? $" at line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "";
            string what = OneLine(e.Message);
            int cut = what.IndexOf(" LineNumber:", StringComparison.Ordinal);
            throw new ExporterConfigException("", $"{path}: invalid JSON{where}: {(cut > 0 ? what[..cut] : what)}");
        }
        catch (IOException e)
        {
            throw new ExporterConfigException("", $"{path}: {OneLine(e.Message)}");
        }
    }

    // The command-line provider skips what it cannot read: a stray word, a single-dash switch, an
    // option at the end without its value. Each would be an ignored setting, so refuse them.
    private static void CheckArgs(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i] ?? "";
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
            {
                throw new ExporterConfigException("", $"command line: '{a}' is not an option; expected --FIELD VALUE, e.g. --listen {ExporterOptions.DefaultListen}");
            }

            if (a.Contains('=', StringComparison.Ordinal))
            {
                continue;
            }

            if (i + 1 >= args.Count)
            {
                string field = SwitchMappings.TryGetValue(a, out string? mapped) ? mapped : a[2..];
                throw new ExporterConfigException(PathOf(field), $"{a} needs a value");
            }

            i++;
        }
    }

    /// <summary>Parses JSON text (for tests and embedding); same rules as <see cref="Load"/>.</summary>
    /// <param name="json">The JSON.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ExporterConfigException">The JSON is invalid, a field is unknown, or a value is invalid.</exception>
    public static ExporterOptions Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        IConfigurationRoot root;
        try
        {
            using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
            root = new ConfigurationBuilder().AddJsonStream(stream).Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new ExporterConfigException("", $"invalid JSON: {OneLine(e.InnerException?.Message ?? e.Message)}");
        }

        return Bind(root);
    }

    private static ExporterOptions Bind(IConfiguration root)
    {
        CheckMapIndices(root);
        ExpandFieldShorthands(root);
        CheckKeys(root);
        var options = new ExporterOptions();
        try
        {
            root.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // "Failed to convert configuration value 'x' at 'maps:0:labels:0:offset' to type 'System.Int32'."
            Match m = ConvertError().Match(e.Message);
            if (m.Success)
            {
                throw new ExporterConfigException(PathOf(m.Groups["path"].Value), $"'{m.Groups["value"].Value}' is not a valid {FriendlyType(m.Groups["type"].Value)}");
            }

            throw new ExporterConfigException("", OneLine(e.Message));
        }

        Compile(options);
        return options;
    }

    /// <summary>
    /// Maps are numbered from 0 without gaps. A command-line override such as <c>--maps:5:map</c> past the
    /// file's maps would otherwise become the only map of a shorter list and be reported as <c>maps[0]</c>.
    /// </summary>
    private static void CheckMapIndices(IConfiguration root)
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
    private static void ExpandFieldShorthands(IConfiguration root)
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

    private static string FriendlyType(string clrType) => clrType switch
    {
        "System.Int32" or "System.Nullable`1[System.Int32]" or "System.Int64" or "System.Nullable`1[System.Int64]" => "integer",
        "System.UInt64" or "System.Nullable`1[System.UInt64]" => "non-negative integer",
        "System.Double" or "System.Nullable`1[System.Double]" => "number",
        _ => clrType,
    };

    [GeneratedRegex("value '(?<value>.*)' at '(?<path>[^']*)' to type '(?<type>[^']*)'")]
    private static partial Regex ConvertError();

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

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

    private static void CheckKeys(IConfiguration root)
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

    /// <summary>Validates the options and parses every name, selector and decoder.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="ExporterConfigException">A value is invalid.</exception>
    internal static ExportPlan Compile(ExporterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (string? host, int port) = ParseListen(options.Listen);
        TimeSpan interval = ParseInterval(options.Interval)
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
            TimeSpan? parsed = ParseExpiry(t);
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

            HistogramPlan h = CompileHistogram($"{path}.histogram", histogram, metricNames);
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
    private static partial Regex MetricName();

    /// <summary>The most buckets a linear or fixed histogram may publish.</summary>
    internal const int MaxBuckets = 4096;

    private static HistogramPlan CompileHistogram(string hp, HistogramOptions o, Dictionary<string, string> metricNames)
    {
        if (string.IsNullOrEmpty(o.Name))
        {
            throw new ExporterConfigException($"{hp}.name", "missing; the histogram's metric name, e.g. op_latency_seconds");
        }

        if (!MetricName().IsMatch(o.Name))
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

        HistogramField? bucket = CompileHistogramField($"{hp}.bucket", "histogram.bucket", o.Bucket, sizeRequired: true);
        HistogramField? count = CompileHistogramField($"{hp}.count", "histogram.count", o.Count, sizeRequired: false);
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
            sumField = CompileHistogramField($"{hp}.sum", "histogram.sum", o.Sum, sizeRequired: false);
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

    private static HistogramField? CompileHistogramField(string fp, string relative, HistogramFieldOptions? f, bool sizeRequired)
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

            if (!FieldPath().IsMatch(f.Field))
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

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*)*$")]
    private static partial Regex FieldPath();

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

    /// <summary>Parses <c>HOST:PORT</c>; empty means no Prometheus endpoint.</summary>
    internal static (string? Host, int Port) ParseListen(string? listen)
    {
        if (string.IsNullOrWhiteSpace(listen))
        {
            return (null, 0);
        }

        int colon = listen.LastIndexOf(':');
        string host = colon > 0 ? listen[..colon] : "";
        if (colon <= 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new ExporterConfigException("listen", $"'{listen}' is not HOST:PORT (e.g. {ExporterOptions.DefaultListen} or [::1]:9435)");
        }

        string bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (bare != "localhost" && !IPAddress.TryParse(bare, out _))
        {
            throw new ExporterConfigException("listen", $"'{host}' is not an IP address or localhost");
        }

        return (host, port);
    }

    /// <summary>Parses <c>500ms</c>, <c>10s</c>, <c>1m</c> or a TimeSpan (<c>00:00:10</c>).</summary>
    internal static TimeSpan? ParseInterval(string? text)
    {
        string t = (text ?? "").Trim();
        TimeSpan span;
        Match m = Duration().Match(t);
        if (m.Success)
        {
            double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            span = m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMinutes(n),
            };
        }
        else if (!TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out span))
        {
            return null;
        }

        return span >= TimeSpan.FromMilliseconds(10) && span <= TimeSpan.FromHours(1) ? span : null;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$")]
    private static partial Regex Duration();

    /// <summary>An expiry: 10ms to 7 days, in ms, s, m or h.</summary>
    internal static TimeSpan? ParseExpiry(string text)
    {
        Match m = ExpiryDuration().Match(text);
        if (!m.Success)
        {
            return null;
        }

        double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        TimeSpan span = m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromHours(n),
        };
        return span >= TimeSpan.FromMilliseconds(10) && span <= TimeSpan.FromDays(7) ? span : null;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")]
    private static partial Regex ExpiryDuration();
}
