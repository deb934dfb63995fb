namespace BpfMaps.Exporter.Reading;

/// <summary>Why a map could not be read this cycle; the reason becomes the <c>reason</c> label of the error counter.</summary>
internal sealed class MapReadException(string reason, string field, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary><c>missing</c> (the selector finds no map), <c>layout</c> (the map does not fit the decoders) or <c>kernel</c>.</summary>
    public string Reason { get; } = reason;

    /// <summary>The config field the problem belongs to, relative to the map (<c>map</c>, <c>labels[1]</c>).</summary>
    public string Field { get; } = field;

    /// <summary>The read went through and published what it could (drained counters are kept); something in it did not fit.</summary>
    public bool AfterRead { get; init; }
}
