namespace BpfMaps.Exporter.Reading;

/// <summary>
/// One label set of a histogram map: a count per bucket slot (see <see cref="HistogramBuckets"/>) and the sum,
/// gathered from the map's entries of that label set; its labels in the text format; and what the last OTLP
/// push sent, for delta temporality and resets.
/// </summary>
internal sealed class HistogramSeries(int slots, byte[] labelText)
{
    /// <summary>Observations per slot: absolute after a dump, accumulated drained counts in drain mode.</summary>
    public ulong[] Counts { get; } = new ulong[slots];

    /// <summary>The sum from the map's sum key or sum field, in the map's units (exact, so kept as an integer).</summary>
    public ulong Sum { get; set; }

    /// <summary>The sum estimated from the bucket bounds, in the map's units, when the map has no sum.</summary>
    public double SumEstimate { get; set; }

    /// <summary>The labels, constant labels included, as the text format writes them: <c>a="1",host="h"</c> (UTF-8).</summary>
    public byte[] LabelText { get; } = labelText;

    /// <summary>The counts the last OTLP push reported, or null before the first.</summary>
    public ulong[]? Pushed { get; set; }

    /// <summary>The sum the last OTLP push reported, in published units.</summary>
    public double PushedSum { get; set; }

    /// <summary>When the counts began (creation, or a reset), Unix nanoseconds; the start time of cumulative OTLP points.</summary>
    public ulong StartUnixNano { get; set; }

    /// <summary>When the last OTLP push reported this series, Unix nanoseconds; the start time of delta points.</summary>
    public ulong LastPushUnixNano { get; set; }

    /// <summary>
    /// The counts, sum and time of the OTLP request being sent, which become <see cref="Pushed"/>,
    /// <see cref="PushedSum"/> and <see cref="LastPushUnixNano"/> only once the endpoint accepts it: with delta
    /// temporality, a push that fails leaves its changes to the next one instead of losing them.
    /// </summary>
    public ulong[]? Staged { get; set; }

    /// <summary>Whether <see cref="Staged"/> holds a request not yet answered.</summary>
    public bool IsStaged { get; set; }

    /// <summary>The staged request's sum, in published units.</summary>
    public double StagedSum { get; set; }

    /// <summary>The staged request's time, Unix nanoseconds.</summary>
    public ulong StagedUnixNano { get; set; }

    /// <summary>Starts a dump's counts again: a dump reads absolute counts.</summary>
    public void Clear()
    {
        Array.Clear(Counts);
        Sum = 0;
        SumEstimate = 0;
    }

    /// <summary>All observations.</summary>
    public ulong Total()
    {
        ulong total = 0;
        foreach (ulong c in Counts)
        {
            total += c;
        }

        return total;
    }
}
