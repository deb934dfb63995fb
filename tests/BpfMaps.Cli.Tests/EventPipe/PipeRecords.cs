using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace BpfMaps.Cli.Tests.EventPipe;

/// <summary>One record as event_pipe (bpfmap's or bpftool's) printed it.</summary>
/// <param name="Lost">A lost report (else a sample).</param>
/// <param name="Cpu">The CPU (-1 for a ring buffer record).</param>
/// <param name="Index">The slot (-1 for a ring buffer record).</param>
/// <param name="Time">The timestamp (0 for a lost report).</param>
/// <param name="Data">The data (empty for a lost report).</param>
/// <param name="Count">A lost report's count.</param>
public sealed record PipeRecord(bool Lost, int Cpu, int Index, ulong Time, byte[] Data, ulong Count)
{
    /// <summary>The record with its timestamp and the bytes past <paramref name="keep"/> (a perf sample's unwritten padding) left out, for comparing two readers.</summary>
    public string Comparable(int keep) => Lost ? $"lost {Count} cpu {Cpu} index {Index}" : $"{Cpu}/{Index} {Convert.ToHexString(Data.AsSpan(0, Math.Min(keep, Data.Length)))} ({Data.Length} bytes)";
}

/// <summary>Parses event_pipe output: bpftool's plain text, its JSON array, or ndjson.</summary>
public static partial class PipeRecords
{
    [GeneratedRegex(@"^== @(\d+)\.(\d{9})(?: CPU: (\d+) index: (\d+))? =====$")]
    private static partial Regex Header();

    [GeneratedRegex(@"^lost (\d+) events$")]
    private static partial Regex LostLine();

    [GeneratedRegex(@"^[0-9a-f]{2}( {1,2}[0-9a-f]{2})*$")]
    private static partial Regex HexLine();

    public static List<PipeRecord> ParsePlain(string text)
    {
        var result = new List<PipeRecord>();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Length == 0)
            {
                continue;
            }

            if (LostLine().Match(line) is { Success: true } l)
            {
                result.Add(new PipeRecord(true, -1, -1, 0, [], ulong.Parse(l.Groups[1].Value, CultureInfo.InvariantCulture)));
                continue;
            }

            Match h = Header().Match(line);
            Assert.True(h.Success, $"line {i + 1} is neither a record header nor a lost line: '{line}'");
            ulong time = ulong.Parse(h.Groups[1].Value, CultureInfo.InvariantCulture) * 1_000_000_000 + ulong.Parse(h.Groups[2].Value, CultureInfo.InvariantCulture);
            int cpu = h.Groups[3].Success ? int.Parse(h.Groups[3].Value, CultureInfo.InvariantCulture) : -1;
            int index = h.Groups[4].Success ? int.Parse(h.Groups[4].Value, CultureInfo.InvariantCulture) : -1;
            var data = new List<byte>();
            while (i + 1 < lines.Length && HexLine().IsMatch(lines[i + 1]))
            {
                i++;
                data.AddRange(lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(b => byte.Parse(b, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            }

            // An empty record prints an empty line after its header.
            if (data.Count == 0 && i + 1 < lines.Length && lines[i + 1].Length == 0)
            {
                i++;
            }

            result.Add(new PipeRecord(false, cpu, index, time, [.. data], 0));
        }

        return result;
    }

    public static List<PipeRecord> ParseJson(string text) => ParseObjects(JsonNode.Parse(text)!.AsArray());

    public static List<PipeRecord> ParseNdjson(string text)
        => ParseObjects(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)));

    private static List<PipeRecord> ParseObjects(IEnumerable<JsonNode?> objects)
    {
        var result = new List<PipeRecord>();
        foreach (JsonNode? o in objects)
        {
            JsonObject obj = o!.AsObject();
            int cpu = obj["cpu"]?.GetValue<int>() ?? -1;
            int index = obj["index"]?.GetValue<int>() ?? -1;
            if (obj["lost"] is JsonObject lost)
            {
                Assert.Equal(2, obj["type"]!.GetValue<int>());
                Assert.True(lost["id"]!.GetValue<ulong>() > 0);
                result.Add(new PipeRecord(true, cpu, index, 0, [], lost["count"]!.GetValue<ulong>()));
                continue;
            }

            if (obj["type"] is { } type)
            {
                Assert.Equal(9, type.GetValue<int>());
            }

            byte[] data = obj["data"]!.AsArray().Select(b => b!.GetValue<byte>()).ToArray();
            result.Add(new PipeRecord(false, cpu, index, obj["timestamp"]!.GetValue<ulong>(), data, 0));
        }

        return result;
    }
}
