using System.Diagnostics.Metrics;
using Prometheus;

namespace BpfMaps.Exporter.Reading;

/// <summary>
/// Where series go: a prometheus-net registry for the scrape endpoint (when listening) and an
/// OpenTelemetry meter for OTLP (when pushing). Also the exporter's own metrics: reads, read
/// errors by reason, dropped entries, entries per map and whether each map is being read.
/// </summary>
internal sealed class ExporterMetrics : IDisposable
{
    /// <summary>The meter name; OpenTelemetry listens to it.</summary>
    public const string MeterName = "BpfMaps.Exporter";

    private const string ReadsHelp = "Successful reads of each map.";
    private const string ErrorsHelp = "Failed reads of each map, by reason: missing (the selector finds no map), layout (the map does not fit the decoders), kernel (bpf() failed), unsupported.";
    private const string DroppedHelp = "Entries not exported because the metric reached maxSeries.";
    private const string EntriesHelp = "Entries read (dump) or drained (drain) by the last read of each map.";
    private const string UpHelp = "1 if the last read of the map succeeded, else 0.";

    private readonly List<MapExport> _maps = [];
    private readonly Counter<long>? _reads;
    private readonly Counter<long>? _readErrors;
    private readonly Counter<long>? _dropped;
    private readonly Prometheus.Counter? _promReads;
    private readonly Prometheus.Counter? _promReadErrors;
    private readonly Prometheus.Counter? _promDropped;
    private readonly Gauge? _promEntries;
    private readonly Gauge? _promUp;

    /// <summary>Creates the sinks.</summary>
    /// <param name="prometheus">Whether series go to a prometheus-net registry.</param>
    /// <param name="otel">Whether series go to an OpenTelemetry meter.</param>
    /// <param name="constantLabels">Labels on every Prometheus series (OpenTelemetry puts them on the resource).</param>
    public ExporterMetrics(bool prometheus, bool otel, IEnumerable<KeyValuePair<string, string>> constantLabels)
    {
        ConstantLabels = constantLabels.Select(kv => (kv.Key, kv.Value)).ToArray();
        if (prometheus)
        {
            Registry = Metrics.NewCustomRegistry();
            Registry.SetStaticLabels(constantLabels.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
            Factory = Metrics.WithCustomRegistry(Registry);
            _promReads = Factory.CreateCounter("bpfmap_exporter_reads_total", ReadsHelp, ["map"]);
            _promReadErrors = Factory.CreateCounter("bpfmap_exporter_read_errors_total", ErrorsHelp, ["map", "reason"]);
            _promDropped = Factory.CreateCounter("bpfmap_exporter_dropped_entries_total", DroppedHelp, ["map"]);
            _promEntries = Factory.CreateGauge("bpfmap_exporter_map_entries", EntriesHelp, ["map"]);
            _promUp = Factory.CreateGauge("bpfmap_exporter_map_up", UpHelp, ["map"]);
        }

        if (otel)
        {
            Meter = new Meter(MeterName, typeof(ExporterMetrics).Assembly.GetName().Version?.ToString());
            _reads = Meter.CreateCounter<long>("bpfmap_exporter_reads", description: ReadsHelp);
            _readErrors = Meter.CreateCounter<long>("bpfmap_exporter_read_errors", description: ErrorsHelp);
            _dropped = Meter.CreateCounter<long>("bpfmap_exporter_dropped_entries", description: DroppedHelp);
            Meter.CreateObservableGauge("bpfmap_exporter_map_entries", () => _maps.Select(m => new Measurement<long>(m.Entries, m.MapTag)).ToList(), description: EntriesHelp);
            Meter.CreateObservableGauge("bpfmap_exporter_map_up", () => _maps.Select(m => new Measurement<int>(m.Up ? 1 : 0, m.MapTag)).ToList(), description: UpHelp);
        }
    }

    /// <summary>The labels on every series (OpenTelemetry puts them on the resource).</summary>
    public IReadOnlyList<(string Name, string Value)> ConstantLabels { get; }

    /// <summary>The maps being exported.</summary>
    public IReadOnlyList<MapExport> Maps => _maps;

    /// <summary>
    /// Writes a scrape in the Prometheus text format: prometheus-net's families (self-metrics, counters, gauges),
    /// then the histogram families, each written from its map's table while the map is not being read.
    /// </summary>
    /// <param name="output">The response body.</param>
    /// <param name="ct">Cancels the write.</param>
    public async Task WriteTextAsync(Stream output, CancellationToken ct)
    {
        if (Registry is not null)
        {
            await Registry.CollectAndExportAsTextAsync(output, ct).ConfigureAwait(false);
        }

        foreach (MapExport map in _maps)
        {
            if (map.Buckets is null)
            {
                continue;
            }

            // Written to a buffer under the map's lock, sent after it: a slow scraper never holds up a read.
            using var text = new PooledBufferWriter();
            map.WriteHistogramText(text);
            await output.WriteAsync(text.WrittenMemory, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The prometheus-net registry the scrape endpoint serves, or null.</summary>
    public CollectorRegistry? Registry { get; }

    /// <summary>Creates metric families in <see cref="Registry"/>, or null.</summary>
    public IMetricFactory? Factory { get; }

    /// <summary>The OpenTelemetry meter, or null.</summary>
    public Meter? Meter { get; }

    public void Track(MapExport map) => _maps.Add(map);

    private readonly Dictionary<string, string> _claimed = new(StringComparer.Ordinal);

    /// <summary>Claims a published metric name for a map; returns the map that has it already, or null.</summary>
    /// <param name="published">The published name (with <c>_total</c> for counters).</param>
    /// <param name="owner">The claiming map's config path.</param>
    /// <returns>The other owner, or null when the name is now this map's.</returns>
    public string? Claim(string published, string owner)
    {
        lock (_claimed)
        {
            if (_claimed.TryGetValue(published, out string? other) && other != owner)
            {
                return other;
            }

            _claimed[published] = owner;
            return null;
        }
    }

    public void OnRead(MapExport map)
    {
        _reads?.Add(1, map.MapTag);
        _promReads?.WithLabels(map.Plan.Label).Inc();
        _promEntries?.WithLabels(map.Plan.Label).Set(map.Entries);
        _promUp?.WithLabels(map.Plan.Label).Set(1);
    }

    public void OnReadError(MapExport map, string reason)
    {
        _readErrors?.Add(1, new KeyValuePair<string, object?>("map", map.Plan.Label), new KeyValuePair<string, object?>("reason", reason));
        _promReadErrors?.WithLabels(map.Plan.Label, reason).Inc();
        _promEntries?.WithLabels(map.Plan.Label).Set(0);
        _promUp?.WithLabels(map.Plan.Label).Set(0);
    }

    public void OnDropped(MapExport map, long entries)
    {
        _dropped?.Add(entries, map.MapTag);
        _promDropped?.WithLabels(map.Plan.Label).Inc(entries);
    }

    public void Dispose() => Meter?.Dispose();
}
