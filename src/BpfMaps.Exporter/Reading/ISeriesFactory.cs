namespace BpfMaps.Exporter.Reading;

/// <summary>Makes the series of a key the <see cref="SeriesTable"/> has not seen.</summary>
internal interface ISeriesFactory
{
    /// <summary>A new series for <paramref name="key"/>, its labels decoded once.</summary>
    Series NewSeries(ReadOnlySpan<byte> key);
}
