using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

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
                throw new ExporterConfigException(ConfigKeys.PathOf(field), $"{a} needs a value");
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
        ConfigKeys.CheckMapIndices(root);
        ConfigKeys.ExpandFieldShorthands(root);
        ConfigKeys.CheckKeys(root);
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
                throw new ExporterConfigException(ConfigKeys.PathOf(m.Groups["path"].Value), $"'{m.Groups["value"].Value}' is not a valid {FriendlyType(m.Groups["type"].Value)}");
            }

            throw new ExporterConfigException("", OneLine(e.Message));
        }

        PlanCompiler.Compile(options);
        return options;
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
}
