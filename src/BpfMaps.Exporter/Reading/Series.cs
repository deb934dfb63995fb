namespace BpfMaps.Exporter.Reading;

/// <summary>
/// One map key's series: its decoded labels (made once, when the key is first seen) and the
/// current value of each metric, one slot per CPU where a metric has a <c>cpu</c> label.
/// </summary>
internal sealed class Series(KeyValuePair<string, object?>[] tags, string[] labelValues, int slots, bool prometheus)
{
    /// <summary>The labels as OpenTelemetry tags.</summary>
    public KeyValuePair<string, object?>[] Tags { get; } = tags;

    /// <summary>The label values in label order, for prometheus-net.</summary>
    public string[] LabelValues { get; } = labelValues;

    public double[] Values { get; } = new double[slots];

    /// <summary>The prometheus-net series of each slot, made on first use; null without a Prometheus endpoint.</summary>
    public Prometheus.ChildBase?[]? Children { get; } = prometheus ? new Prometheus.ChildBase?[slots] : null;

    /// <summary>The read cycle that last saw this key; older series are dropped after a dump.</summary>
    public long Generation { get; set; }

    /// <summary>When the key was last read (drained, in drain mode), for expiry.</summary>
    public long LastSeenTicks { get; set; }

    /// <summary>Whether the series' values are on the Prometheus endpoint.</summary>
    public bool Published { get; set; }

    /// <summary>The buckets and sum of a histogram map's label set, or null for a map of metrics.</summary>
    public HistogramSeries? Histogram { get; init; }
}
