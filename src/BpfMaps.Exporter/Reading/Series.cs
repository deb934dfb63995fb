namespace BpfMaps.Exporter.Reading;

/// <summary>
/// One map key's series: its decoded labels (made once, when the key is first seen) and the
/// current value of each metric, one slot per CPU where a metric has a <c>cpu</c> label.
/// </summary>
internal sealed class Series(KeyValuePair<string, object?>[] tags, int slots)
{
    public KeyValuePair<string, object?>[] Tags { get; } = tags;

    public double[] Values { get; } = new double[slots];

    /// <summary>The read cycle that last saw this key; older series are dropped after a dump.</summary>
    public long Generation { get; set; }
}
