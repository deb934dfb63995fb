using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace BpfMaps.Exporter.Reading;

/// <summary>
/// Writes histogram families in the Prometheus text format (0.0.4): cumulative <c>_bucket</c> series with an
/// <c>le</c> label, <c>+Inf</c>, <c>_sum</c> and <c>_count</c>. prometheus-net's own histogram only takes single
/// observations, and its sum would be the sum of the values observed, so a histogram whose buckets and sum
/// come from a map is written here, after prometheus-net's families, in the same response.
/// </summary>
internal static class HistogramText
{
    /// <summary>Labels as the text format writes them between the braces: <c>a="1",b="x\"y"</c>.</summary>
    public static byte[] LabelText(IEnumerable<(string Name, string Value)> labels)
    {
        var sb = new StringBuilder();
        foreach ((string name, string value) in labels)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(name).Append("=\"");
            foreach (char c in value)
            {
                _ = c switch
                {
                    '\\' => sb.Append(@"\\"),
                    '"' => sb.Append("\\\""),
                    '\n' => sb.Append(@"\n"),
                    _ => sb.Append(c),
                };
            }

            sb.Append('"');
        }

        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>The <c># HELP</c> and <c># TYPE</c> lines.</summary>
    public static void WriteHeader(IBufferWriter<byte> w, byte[] name, string help)
    {
        w.Write("# HELP "u8);
        w.Write(name);
        w.Write(" "u8);
        w.Write(Encoding.UTF8.GetBytes(help.Replace("\\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal)));
        w.Write("\n# TYPE "u8);
        w.Write(name);
        w.Write(" histogram\n"u8);
    }

    /// <summary>One label set: a cumulative count per published bound, <c>+Inf</c>, the sum and the count.</summary>
    /// <param name="w">Where to write.</param>
    /// <param name="name">The metric name, UTF-8.</param>
    /// <param name="s">The series.</param>
    /// <param name="buckets">The bucket layout.</param>
    /// <param name="sum">The sum to publish, in published units.</param>
    public static void WriteSeries(IBufferWriter<byte> w, byte[] name, HistogramSeries s, HistogramBuckets buckets, double sum)
    {
        ulong[] counts = s.Counts;
        ulong cumulative = 0;
        int slot = 0;
        for (int j = 0; j <= buckets.Bounds.Length; j++)
        {
            int end = j < buckets.Bounds.Length ? buckets.BoundEnd[j] : counts.Length - 1;
            while (slot <= end)
            {
                cumulative += counts[slot++];
            }

            w.Write(name);
            w.Write("_bucket{"u8);
            if (s.LabelText.Length > 0)
            {
                w.Write(s.LabelText);
                w.Write(","u8);
            }

            w.Write("le=\""u8);
            w.Write(buckets.LeText[j]);
            w.Write("\"} "u8);
            WriteNumber(w, cumulative);
        }

        WriteLine(w, name, "_sum"u8, s.LabelText);
        WriteNumber(w, sum);
        WriteLine(w, name, "_count"u8, s.LabelText);
        WriteNumber(w, cumulative);
    }

    private static void WriteLine(IBufferWriter<byte> w, byte[] name, ReadOnlySpan<byte> suffix, byte[] labels)
    {
        w.Write(name);
        w.Write(suffix);
        if (labels.Length > 0)
        {
            w.Write("{"u8);
            w.Write(labels);
            w.Write("}"u8);
        }

        w.Write(" "u8);
    }

    private static void WriteNumber(IBufferWriter<byte> w, ulong value)
    {
        Span<byte> span = w.GetSpan(24);
        Utf8Formatter.TryFormat(value, span, out int n);
        span[n] = (byte)'\n';
        w.Advance(n + 1);
    }

    private static void WriteNumber(IBufferWriter<byte> w, double value)
    {
        if (!double.IsFinite(value))
        {
            w.Write(double.IsNaN(value) ? "NaN\n"u8 : value > 0 ? "+Inf\n"u8 : "-Inf\n"u8);
            return;
        }

        Span<byte> span = w.GetSpan(40);
        value.TryFormat(span, out int n, "g", CultureInfo.InvariantCulture);
        span[n] = (byte)'\n';
        w.Advance(n + 1);
    }
}
