using System.Diagnostics.Metrics;

namespace BpfMaps.Exporter.Reading;

/// <summary>
/// The meter every instrument lives on, and the exporter's own metrics: reads, read errors by
/// reason, dropped entries, entries per map and whether each map is being read.
/// </summary>
internal sealed class ExporterMetrics : IDisposable
{
    /// <summary>The meter name; OpenTelemetry listens to it.</summary>
    public const string MeterName = "BpfMaps.Exporter";

    private readonly List<MapExport> _maps = [];

    public ExporterMetrics()
    {
        Meter = new Meter(MeterName, typeof(ExporterMetrics).Assembly.GetName().Version?.ToString());
        Reads = Meter.CreateCounter<long>("bpfmap_exporter_reads", description: "Successful reads of each map.");
        ReadErrors = Meter.CreateCounter<long>("bpfmap_exporter_read_errors", description: "Failed reads of each map, by reason: missing (the selector finds no map), layout (the map does not fit the decoders), kernel.");
        DroppedEntries = Meter.CreateCounter<long>("bpfmap_exporter_dropped_entries", description: "Entries not exported because the metric reached maxSeries.");
        Meter.CreateObservableGauge("bpfmap_exporter_map_entries", ObserveEntries, description: "Entries read (dump) or drained (drain) by the last read of each map.");
        Meter.CreateObservableGauge("bpfmap_exporter_map_up", ObserveUp, description: "1 if the last read of the map succeeded, else 0.");
    }

    public Meter Meter { get; }

    public Counter<long> Reads { get; }

    public Counter<long> ReadErrors { get; }

    public Counter<long> DroppedEntries { get; }

    public void Track(MapExport map) => _maps.Add(map);

    private IEnumerable<Measurement<long>> ObserveEntries() =>
        _maps.Select(m => new Measurement<long>(m.Entries, m.MapTag)).ToList();

    private IEnumerable<Measurement<int>> ObserveUp() =>
        _maps.Select(m => new Measurement<int>(m.Up ? 1 : 0, m.MapTag)).ToList();

    public void Dispose() => Meter.Dispose();
}
