using System.Globalization;
using System.Text;
using System.Text.Json;
using BpfMaps.Cli.Output;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace BpfMaps.Cli.Watch;

/// <summary>Shows watch frames in one format.</summary>
internal interface IWatchRenderer
{
    /// <summary>Shows one frame.</summary>
    /// <param name="frame">The frame.</param>
    void Frame(WatchFrame frame);
}

/// <summary>Builds the Spectre table of a frame (used live on a terminal, and by tests).</summary>
internal static class WatchTable
{
    /// <summary>The table for a frame.</summary>
    /// <param name="title">What is watched.</param>
    /// <param name="frame">The frame.</param>
    /// <param name="numericKeys">Whether keys read as numbers.</param>
    /// <returns>The renderable.</returns>
    public static IRenderable Build(string title, WatchFrame frame, bool numericKeys)
    {
        var t = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        t.AddColumn("key");
        t.AddColumn(new TableColumn("value").RightAligned());
        t.AddColumn(new TableColumn("delta").RightAligned());
        t.AddColumn(new TableColumn("rate/s").RightAligned());
        foreach (WatchRow r in frame.Top)
        {
            string key = numericKeys ? EntryLayout.ReadUnsigned(r.Key).ToString(CultureInfo.InvariantCulture) : Hex.Spaced(r.Key);
            t.AddRow(new Text(key), new Text(N(r.Value)), new Text(N(r.Delta)), new Text(N(r.Rate)));
        }

        t.Caption(string.Create(CultureInfo.InvariantCulture,
            $"tick {frame.Tick}  entries {frame.Entries:N0}  keys {frame.Keys:N0}  total {N(frame.Total)}  +{N(frame.TotalDelta)}  ({N(frame.TotalRate)}/s)"));
        return t;
    }

    /// <summary>A number for display: integers without decimals.</summary>
    /// <param name="v">The number.</param>
    /// <returns>The text.</returns>
    public static string N(double v) => v.ToString(Math.Abs(v - Math.Round(v)) < 1e-9 ? "N0" : "N2", CultureInfo.InvariantCulture);
}

/// <summary>A plain-text block per tick (when stdout is not a terminal).</summary>
/// <param name="output">Where to write.</param>
/// <param name="numericKeys">Whether keys read as numbers.</param>
internal sealed class PlainWatchRenderer(Stream output, bool numericKeys) : IWatchRenderer
{
    /// <inheritdoc />
    public void Frame(WatchFrame f)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"tick {f.Tick}: entries {f.Entries} keys {f.Keys} total {f.Total} delta {f.TotalDelta} rate {f.TotalRate:F1}/s\n");
        foreach (WatchRow r in f.Top)
        {
            string key = numericKeys ? EntryLayout.ReadUnsigned(r.Key).ToString(CultureInfo.InvariantCulture) : Hex.Spaced(r.Key);
            sb.Append(CultureInfo.InvariantCulture, $"  key {key}  value {r.Value}  delta {r.Delta}  rate {r.Rate:F1}/s\n");
        }

        output.Write(Encoding.UTF8.GetBytes(sb.ToString()));
        output.Flush();
    }
}

/// <summary>One JSON object per tick and line (<c>--format json|ndjson</c>).</summary>
/// <param name="output">Where to write.</param>
internal sealed class JsonWatchRenderer(Stream output) : IWatchRenderer
{
    /// <inheritdoc />
    public void Frame(WatchFrame f)
    {
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteNumber("tick", f.Tick);
            w.WriteNumber("elapsed", Math.Round(f.Elapsed, 3));
            w.WriteNumber("entries", f.Entries);
            w.WriteNumber("keys", f.Keys);
            w.WriteNumber("total", f.Total);
            w.WriteNumber("delta", f.TotalDelta);
            w.WriteNumber("rate", Math.Round(f.TotalRate, 3));
            w.WriteStartArray("top");
            foreach (WatchRow r in f.Top)
            {
                w.WriteStartObject();
                w.WriteString("key", Hex.Compact(r.Key));
                w.WriteNumber("value", r.Value);
                w.WriteNumber("delta", r.Delta);
                w.WriteNumber("rate", Math.Round(r.Rate, 3));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        output.Write("\n"u8);
        output.Flush();
    }
}
