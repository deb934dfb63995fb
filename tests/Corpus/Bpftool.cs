using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace BpfMaps.Tests.Corpus;

/// <summary>
/// Runs the real bpftool and captures its output, for tests that compare ours with it. The command
/// helpers return the raw <see cref="ToolResult"/> (bpftool 7.1 does not always print valid JSON);
/// <see cref="Json(string[])"/> parses and fails the test on a non-zero exit or invalid JSON.
/// </summary>
public static class Bpftool
{
    private static readonly Lazy<string?> s_path = new(() => ExternalTool.Which("bpftool"));
    private static readonly Lazy<string> s_version = new(ReadVersion);

    /// <summary>The bpftool binary, or null when it is not installed.</summary>
    public static string? PathOrNull => s_path.Value;

    /// <summary>The bpftool binary; skips the test when it is not installed.</summary>
    public static string Exe
    {
        get
        {
            if (s_path.Value is null)
            {
                Assert.Skip("bpftool is not installed (scripts/setup.sh installs it)");
            }

            return s_path.Value!;
        }
    }

    /// <summary>bpftool's own version without the leading v, e.g. <c>7.1.0</c>.</summary>
    public static string Version => s_version.Value;

    /// <summary>Whether this is bpftool 7.1, whose output quirks the corpus tests record.</summary>
    public static bool Is71 => Version.StartsWith("7.1.", StringComparison.Ordinal);

    /// <summary>Runs <c>bpftool ARGS</c>.</summary>
    public static ToolResult Run(params string[] args) => ExternalTool.Run(Exe, args);

    /// <summary>Runs <c>bpftool ARGS</c>, which must exit 0 and print valid JSON (pass <c>-j</c>).</summary>
    public static JsonNode Json(params string[] args) => Parse(Run(args));

    /// <summary>Parses a result that must have succeeded and printed valid JSON.</summary>
    public static JsonNode Parse(ToolResult result)
    {
        result.AssertSuccess();
        try
        {
            return JsonNode.Parse(result.Stdout) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            Assert.Fail($"{result.Command} printed invalid JSON ({e.Message}):\n{result.Stdout}");
            throw;
        }
    }

    /// <summary>
    /// Parses a result that must have succeeded and printed valid JSON, keeping duplicate member
    /// names: bpftool names every anonymous struct or union member "", and <see cref="JsonNode"/>
    /// throws when an object has that name twice.
    /// </summary>
    public static JsonDocument ParseDocument(ToolResult result)
    {
        result.AssertSuccess();
        try
        {
            return JsonDocument.Parse(result.Stdout);
        }
        catch (JsonException e)
        {
            Assert.Fail($"{result.Command} printed invalid JSON ({e.Message}):\n{result.Stdout}");
            throw;
        }
    }

    /// <summary><c>bpftool [-j] map dump pinned PATH</c>.</summary>
    public static ToolResult Dump(string pinned, bool json = true) => Run(Flagged(json, "map", "dump", "pinned", pinned));

    /// <summary><c>bpftool [-j] map lookup pinned PATH key hex BYTES</c>.</summary>
    public static ToolResult Lookup(string pinned, ReadOnlySpan<byte> key, bool json = true)
    {
        var args = new List<string> { "map", "lookup", "pinned", pinned, "key", "hex" };
        foreach (byte b in key)
        {
            args.Add(b.ToString("x2"));
        }

        return Run(Flagged(json, [.. args]));
    }

    /// <summary><c>bpftool [-j] map show pinned PATH</c>.</summary>
    public static ToolResult Show(string pinned, bool json = true) => Run(Flagged(json, "map", "show", "pinned", pinned));

    /// <summary>The map's <c>map show</c> JSON (id, type, name, sizes, btf_id when it has BTF).</summary>
    public static JsonObject MapInfo(string pinned) => Parse(Show(pinned)).AsObject();

    /// <summary>The id of the BTF object a pinned map refers to, or null when the map has no BTF.</summary>
    public static uint? BtfId(string pinned) => MapInfo(pinned)["btf_id"]?.GetValue<uint>();

    /// <summary><c>bpftool [-j] btf dump id N</c>: every type of one BTF object.</summary>
    public static ToolResult BtfDump(uint btfId, bool json = true) => Run(Flagged(json, "btf", "dump", "id", btfId.ToString()));

    /// <summary><c>bpftool btf dump id N format c</c>: the BTF object as C declarations.</summary>
    public static ToolResult BtfDumpC(uint btfId) => Run("btf", "dump", "id", btfId.ToString(), "format", "c");

    /// <summary><c>bpftool [-j] btf show [id N]</c>.</summary>
    public static ToolResult BtfShow(uint? btfId = null, bool json = true)
        => Run(Flagged(json, btfId is { } id ? ["btf", "show", "id", id.ToString()] : ["btf", "show"]));

    /// <summary>
    /// The <c>formatted</c> member of every element of a <c>-j map dump</c>, in dump order. For a
    /// value with two anonymous members (layouts/anon) use <see cref="ParseDocument"/> instead.
    /// </summary>
    public static IReadOnlyList<JsonNode> Formatted(string pinned)
        => Parse(Dump(pinned)).AsArray().Select(e => e!["formatted"] ?? throw new InvalidOperationException($"no formatted member in {e.ToJsonString()}")).ToList();

    private static string[] Flagged(bool json, params string[] args) => json ? ["-j", .. args] : args;

    private static string ReadVersion()
    {
        // "bpftool v7.1.0" on the first line.
        string first = Run("version").AssertSuccess().Stdout.Split('\n')[0];
        int v = first.IndexOf(" v", StringComparison.Ordinal);
        return v < 0 ? first : first[(v + 2)..].Trim();
    }
}
