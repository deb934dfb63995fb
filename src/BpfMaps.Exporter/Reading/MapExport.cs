using System.Diagnostics.Metrics;
using System.Globalization;
using BpfMaps.Exporter.Decoding;
using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Reading;

/// <summary>
/// One configured map: finds it (again, when it is replaced or comes back) through its
/// <see cref="MapLocator"/>, reads it a batch at a time into its <see cref="SeriesTable"/>, keyed by the
/// raw key bytes, sets the prometheus-net series as it reads, and reports the table to OpenTelemetry when
/// it collects. Reading an entry whose key is already in the table allocates nothing; a new key allocates
/// its labels and series once.
/// </summary>
internal sealed partial class MapExport : IDisposable, ISeriesFactory
{
    private static readonly DumpOptions s_arrayDrain = new() { ArrayDrain = ArrayDrainMode.ReadThenZero };
    private static readonly string[] s_cpuNames = Enumerable.Range(0, PossibleCpus.Count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    private readonly MapPlan _configured;
    private readonly TimeProvider _clock;
    private readonly int _maxSeries;
    private readonly ExporterMetrics _self;
    private readonly ILogger _log;
    private readonly SeriesTable _series;
    private readonly MapLocator _locator;
    private readonly Lock _lock = new();
    private readonly KeyValuePair<string, object?>[] _mapTag;
    private MapPlan _plan;
    private int[] _slotBase = [];
    private int _slots;
    private Prometheus.Counter?[] _promCounters = [];
    private Prometheus.Gauge?[] _promGauges = [];
    private bool _published;
    private HistogramBuckets? _buckets;
    private bool _opening;
    private byte[] _histogramKey = [];
    private string? _lastProblem;

    public MapExport(MapPlan plan, int maxSeries, ExporterMetrics self, ILogger log, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _configured = plan;
        _plan = plan;
        _maxSeries = maxSeries;
        _self = self;
        _log = log;
        _mapTag = [new("map", plan.Label)];
        _series = new SeriesTable(plan.Drain, plan.ExpireAfter, _clock);
        _locator = new MapLocator(plan.Selector);
        if (!plan.NeedsBtf)
        {
            CreateInstruments(plan);
        }
    }

    /// <summary>
    /// Creates the metric families: at once for a plan given by offsets, once the map is open for one
    /// whose fields come from the map's BTF.
    /// </summary>
    /// <exception cref="MapReadException">A metric name derived from a BTF field is already used by another map.</exception>
    private void CreateInstruments(MapPlan plan)
    {
        if (plan.Histogram is { } histogram)
        {
            CreateHistogram(plan, histogram);
            return;
        }

        // Two BTF fields can derive one name (a.b and a_b), or a derived name can be one given by offset.
        var publishedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (MetricPlan m in plan.Metrics)
        {
            string published = m.Counter && !m.Name.EndsWith("_total", StringComparison.Ordinal) ? m.Name + "_total" : m.Name;
            if (!publishedNames.Add(published))
            {
                throw new MapReadException("layout", "metrics", $"two metrics of {plan.Path} are published as {published}{(m.BtfPath is null ? "" : $" (the second from field '{m.BtfPath}')")}; give them distinct names");
            }
        }

        foreach (MetricPlan m in plan.Metrics)
        {
            string published = m.Counter && !m.Name.EndsWith("_total", StringComparison.Ordinal) ? m.Name + "_total" : m.Name;
            if (_self.Claim(published, plan.Path) is { } other)
            {
                throw new MapReadException("layout", "metrics", $"metric {published} (from field '{m.BtfPath}') is already published by {other}; give the metric a 'name'");
            }
        }

        _slotBase = new int[plan.Metrics.Count];
        _slots = 0;
        int widest = 1;
        for (int j = 0; j < plan.Metrics.Count; j++)
        {
            _slotBase[j] = _slots;
            int width = plan.Metrics[j].PerCpu == PerCpuMode.EachCpu ? s_cpuNames.Length : 1;
            _slots += width;
            widest = Math.Max(widest, width);
        }

        _series.KeyCapacity = Math.Max(1, _maxSeries / widest);
        _promCounters = new Prometheus.Counter?[plan.Metrics.Count];
        _promGauges = new Prometheus.Gauge?[plan.Metrics.Count];
        string[] labelNames = plan.Labels.Select(l => l.Name).ToArray();
        for (int j = 0; j < plan.Metrics.Count; j++)
        {
            int metric = j;
            MetricPlan m = plan.Metrics[j];
            if (_self.Meter is { } meter)
            {
                if (m.Counter)
                {
                    meter.CreateObservableCounter(m.Name, () => Collect(metric), unit: null, description: m.Help);
                }
                else
                {
                    meter.CreateObservableGauge(m.Name, () => Collect(metric), unit: null, description: m.Help);
                }
            }

            if (_self.Factory is { } factory)
            {
                string[] names = m.PerCpu == PerCpuMode.EachCpu ? [.. labelNames, "cpu"] : labelNames;
                string help = m.Help ?? (m.Btf is { } f
                    ? $"Field {f.Path} of map {plan.Label}."
                    : $"{m.Type.ToString().ToLowerInvariant()} at value offset {m.Offset} of map {plan.Label}.");
                if (m.Counter)
                {
                    // Prometheus convention (and what OpenTelemetry's naming does): counters end in _total.
                    string name = m.Name.EndsWith("_total", StringComparison.Ordinal) ? m.Name : m.Name + "_total";
                    _promCounters[j] = factory.CreateCounter(name, help, names);
                }
                else
                {
                    _promGauges[j] = factory.CreateGauge(m.Name, help, names);
                }
            }
        }

        _plan = plan;
        _published = true;
    }

    public MapPlan Plan => _plan;

    /// <summary>Entries read (or drained) by the last successful cycle.</summary>
    public long Entries { get; private set; }

    /// <summary>Whether the last cycle read the map.</summary>
    public bool Up { get; private set; }

    /// <summary>The id of the map currently open, or 0.</summary>
    public uint MapId => _locator.Map?.Id ?? 0;

    /// <summary>The <c>map</c> tag of self-metrics.</summary>
    public ReadOnlySpan<KeyValuePair<string, object?>> MapTag => _mapTag;

    /// <summary>Opens the map before the exporter starts: a missing or unfitting map is a configuration error.</summary>
    /// <exception cref="ExporterConfigException">The map does not exist, cannot be opened, or does not fit the decoders.</exception>
    public void OpenAtStartup()
    {
        try
        {
            _opening = true;
            EnsureCurrent();
        }
        catch (MapReadException e)
        {
            throw new ExporterConfigException($"{_plan.Path}.{e.Field}", e.Message);
        }
        finally
        {
            _opening = false;
        }
    }

    /// <summary>Reads the map once. Failures are counted and logged, never thrown.</summary>
    public void Read()
    {
        MapReadException problem;
        try
        {
            EnsureCurrent();
            ReadCore(_locator.Map!);
            Up = true;
            _self.OnRead(this);
            if (_lastProblem is not null)
            {
                LogRecovered(_log, _plan.Label, _locator.Map!.Id);
                _lastProblem = null;
            }

            return;
        }
        catch (MapReadException e)
        {
            problem = e;
        }
        catch (BpfNotSupportedException e)
        {
            // A map type the kernel cannot dump or drain: reported like any failed read, the exporter goes on.
            problem = new MapReadException("unsupported", "map", e.Message, e);
        }
        catch (BpfException e) when (e.Errno == Errno.EPERM && _plan.Drain && _locator.Map?.IsFrozen() == true)
        {
            BpfMap frozen = _locator.Map;
            problem = new MapReadException("layout", "mode", $"map '{frozen.Name}' (id {frozen.Id}) was frozen: userspace can no longer drain it; use mode 'dump'", e);
        }
        catch (BpfException e)
        {
            problem = new MapReadException("kernel", "map", e.Message, e);
        }
        catch (MapIterationRestartedException e)
        {
            problem = new MapReadException("kernel", "map", e.Message, e);
        }
        catch (NotSupportedException e)
        {
            // A map type the library cannot dump or drain: reported like any failed read, the exporter goes on.
            problem = new MapReadException("unsupported", "map", e.Message, e);
        }

        Up = false;
        if (!problem.AfterRead)
        {
            Entries = 0;
            _locator.Close();
        }

        lock (_lock)
        {
            if (problem.Reason == "layout" && (!_plan.Drain || !problem.AfterRead))
            {
                // The map does not fit the configuration: what was read from it cannot be trusted. (Counts drained
                // by a read that went through are kept.)
                _series.Clear();
            }
            else
            {
                // Nothing was read: every series goes as it would when a read did not see its key. A dump's at once,
                // or once expireAfter has passed; drained counters once expireAfter has passed, or never.
                _series.Expire(gen: -1, _clock.GetTimestamp());
            }
        }

        _self.OnReadError(this, problem.Reason);
        if (problem.Message != _lastProblem)
        {
            LogReadFailed(_log, _plan.Label, problem.Reason, problem.Message);
            _lastProblem = problem.Message;
        }
    }

    private void EnsureCurrent()
    {
        if (_locator.FindChanged() is { } map)
        {
            Adopt(map);
        }
    }

    private void Adopt(BpfMap map)
    {
        MapPlan resolved;
        try
        {
            resolved = BtfFieldResolver.Resolve(_configured, map);
            if (resolved.CheckLayout(map.Info) is { } bad)
            {
                throw new MapReadException("layout", bad.Field, bad.Problem);
            }

            if (resolved.Drain && map.IsFrozen())
            {
                // Frozen maps refuse every write from userspace, root or not; a drain could never succeed.
                throw new MapReadException("layout", "mode", $"map '{map.Name}' (id {map.Id}) is frozen: BPF programs can still write it, but userspace cannot delete from it; use mode 'dump'");
            }

            if (resolved.Histogram is { } h)
            {
                resolved = resolved with { Histogram = h.WithSizes(map.KeySize, map.ValueSize) };
            }

            if (!_published)
            {
                CreateInstruments(resolved);
            }
            else if (!SameShape(_plan, resolved))
            {
                throw new MapReadException("layout", "map", $"the map now at {_configured.Selector} has other BTF fields than the one first exported; restart the exporter to export them");
            }

            if (_opening && resolved.Histogram is { } histogram)
            {
                CheckBucketsAtStartup(map, histogram);
            }
        }
        catch
        {
            map.Dispose();
            throw;
        }

        lock (_lock)
        {
            _plan = resolved;
            _histogramKey = resolved.Histogram is null ? [] : new byte[map.KeySize];
        }

        bool replaced = _locator.Replace(map);
        string description = map.ToString();
        LogOpened(_log, _plan.Label, description, replaced ? "replaced the previous map with" : "opened");
        // Key bytes that BTF fields do not cover are padding, which the BTF names nowhere; only offset
        // labels can leave out bytes that matter.
        bool byBtf = _plan.Labels.All(l => l.Btf is not null) && (_plan.Histogram is null || _plan.Histogram.Bucket?.Btf is not null);
        if (!byBtf && _plan.UncoveredKeyBytes(map.KeySize) is { } uncovered)
        {
            LogUncovered(_log, _plan.Label, uncovered);
        }
        else if (byBtf && _plan.Histogram is not null && UncoveredKeyFields(map) is { } fields)
        {
            LogUncoveredFields(_log, _plan.Label, fields);
        }
    }

    /// <summary>Whether a replacement map resolves to the same labels and metrics, so its series can take over.</summary>
    private static bool SameShape(MapPlan a, MapPlan b)
        => a.Labels.Select(l => l.Name).SequenceEqual(b.Labels.Select(l => l.Name))
            && a.Metrics.Select(m => (m.Name, m.Counter, m.PerCpu)).SequenceEqual(b.Metrics.Select(m => (m.Name, m.Counter, m.PerCpu)))
            && (a.Histogram is null) == (b.Histogram is null)
            && (a.Histogram is null || (a.Histogram.SumKey is null && a.Histogram.SumField is null) == (b.Histogram!.SumKey is null && b.Histogram.SumField is null));

    private void ReadCore(BpfMap map)
    {
        int ks = map.KeySize;
        int vs = map.ValueBufferSize;
        long entries = 0;
        long dropped = 0;
        MapEntries source = _plan.Drain ? map.Drain(map.Type.IsArray() ? s_arrayDrain : null) : map.Dump();
        long now = _clock.GetTimestamp();
        HistogramPlan? histogram = _plan.Histogram;
        lock (_lock)
        {
            long gen = _series.BeginRead();
            _pastMax = null;
            using MapEnumerator e = source.GetEnumerator();
            while (e.MoveNextBatch())
            {
                ReadOnlySpan<byte> keys = e.BatchKeys;
                ReadOnlySpan<byte> values = e.BatchValues;
                for (int i = 0; i < e.BatchCount; i++)
                {
                    ReadOnlySpan<byte> key = keys.Slice(i * ks, ks);

                    // A histogram's entries are its buckets: the series is the key without the bucket index.
                    ReadOnlySpan<byte> seriesKey = histogram is null ? key : WithoutBucket(key, histogram);
                    if (_series.Take(seriesKey, key, gen, now, this) is not { } s)
                    {
                        dropped++;
                        continue;
                    }

                    if (histogram is null)
                    {
                        Apply(map, s, values.Slice(i * vs, vs));
                    }
                    else if (!AddBucket(map, s.Histogram!, histogram, key, values.Slice(i * vs, vs)))
                    {
                        dropped++;
                    }
                }

                entries += e.BatchCount;
            }

            // Published series change only here, after the read: first the ones that go, then the ones
            // read, so the endpoint never shows more than the limit, not even in the middle of a read.
            _series.Expire(gen, now);
            if (_self.Factory is not null && histogram is null)
            {
                foreach (Series s in _series.Values)
                {
                    if (s.Generation == gen)
                    {
                        Publish(s);
                    }
                }
            }

            Entries = entries;
        }

        if (dropped > 0)
        {
            _self.OnDropped(this, dropped);
        }

        if (_pastMax is { } past)
        {
            // Counted as dropped above; the rest of the read is published, and the read reported failed.
            throw new MapReadException("layout", "histogram.bucketMax", PastMaxMessage(past.Index, past.Key)) { AfterRead = true };
        }
    }

    /// <summary>How many series the map has now (tests watch it under churn).</summary>
    internal int SeriesCount
    {
        get
        {
            lock (_lock)
            {
                return _series.Count;
            }
        }
    }

    private void Publish(Series s)
    {
        Prometheus.ChildBase?[] children = s.Children!;
        for (int j = 0; j < _plan.Metrics.Count; j++)
        {
            MetricPlan m = _plan.Metrics[j];
            int width = m.PerCpu == PerCpuMode.EachCpu ? s_cpuNames.Length : 1;
            for (int k = 0; k < width; k++)
            {
                int slot = _slotBase[j] + k;
                double v = s.Values[slot];
                if (_promCounters[j] is { } family)
                {
                    var child = (Prometheus.Counter.Child?)children[slot];
                    if (child is not null && v < child.Value)
                    {
                        // The kernel's count went down (the map was replaced): publish it as a counter reset.
                        child.Remove();
                        child = null;
                    }

                    child ??= family.WithLabels(LabelValues(s, m, k));
                    children[slot] = child;
                    child.IncTo(v);
                }
                else
                {
                    var child = (Prometheus.Gauge.Child?)children[slot] ?? _promGauges[j]!.WithLabels(LabelValues(s, m, k));
                    children[slot] = child;
                    child.Set(v);
                }
            }
        }
    }

    private static string[] LabelValues(Series s, MetricPlan m, int cpu) =>
        m.PerCpu == PerCpuMode.EachCpu ? [.. s.LabelValues, s_cpuNames[cpu]] : s.LabelValues;

    Series ISeriesFactory.NewSeries(ReadOnlySpan<byte> key)
    {
        KeyValuePair<string, object?>[] tags = MakeTags(key);
        string[] values = tags.Select(t => (string)t.Value!).ToArray();
        if (_plan.Histogram is null)
        {
            return new Series(tags, values, _slots, _self.Factory is not null);
        }

        return new Series(tags, values, 0, prometheus: false) { Histogram = NewHistogramSeries(tags) };
    }

    private KeyValuePair<string, object?>[] MakeTags(ReadOnlySpan<byte> key)
    {
        var tags = new KeyValuePair<string, object?>[_plan.Labels.Count];
        for (int i = 0; i < tags.Length; i++)
        {
            LabelField f = _plan.Labels[i];
            tags[i] = new(f.Name, f.Format(key));
        }

        return tags;
    }

    private void Apply(BpfMap map, Series s, ReadOnlySpan<byte> value)
    {
        double[] slots = s.Values;
        for (int j = 0; j < _plan.Metrics.Count; j++)
        {
            MetricPlan m = _plan.Metrics[j];
            int at = _slotBase[j];
            if (!map.IsPerCpu)
            {
                Store(slots, at, m.Read(value));
                continue;
            }

            int cpus = Math.Min(map.Cpus, s_cpuNames.Length);
            int stride = map.ValueStride;
            if (m.PerCpu == PerCpuMode.EachCpu)
            {
                for (int c = 0; c < cpus; c++)
                {
                    Store(slots, at + c, m.Read(value.Slice(c * stride, map.ValueSize)));
                }

                continue;
            }

            var reduction = default(PerCpuReduction<double>);
            for (int c = 0; c < cpus; c++)
            {
                reduction.Add(m.Read(value.Slice(c * stride, map.ValueSize)));
            }

            Store(slots, at, reduction.ToDouble(m.PerCpu));
        }
    }

    private void Store(double[] slots, int at, double v)
    {
        if (!_plan.Drain)
        {
            slots[at] = v;
        }
        else if (v > 0)
        {
            // Drained values are deltas since the last drain; they only ever add to the counter.
            slots[at] += v;
        }
    }

    private List<Measurement<double>> Collect(int metric)
    {
        MetricPlan m = _plan.Metrics[metric];
        int at = _slotBase[metric];
        lock (_lock)
        {
            if (m.PerCpu != PerCpuMode.EachCpu)
            {
                var list = new List<Measurement<double>>(_series.Count);
                foreach (Series s in _series.Values)
                {
                    list.Add(new Measurement<double>(s.Values[at], s.Tags.AsSpan()));
                }

                return list;
            }

            var perCpu = new List<Measurement<double>>(_series.Count * s_cpuNames.Length);
            var tags = new KeyValuePair<string, object?>[_plan.Labels.Count + 1];
            foreach (Series s in _series.Values)
            {
                s.Tags.CopyTo(tags, 0);
                for (int c = 0; c < s_cpuNames.Length; c++)
                {
                    tags[^1] = new("cpu", s_cpuNames[c]);
                    perCpu.Add(new Measurement<double>(s.Values[at + c], tags.AsSpan()));
                }
            }

            return perCpu;
        }
    }

    public void Dispose() => _locator.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "map {Map}: {What} {Description}")]
    private static partial void LogOpened(ILogger log, string map, string description, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "map {Map}: read failed ({Reason}): {Problem}")]
    private static partial void LogReadFailed(ILogger log, string map, string reason, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "map {Map}: key bytes {Bytes} are in no label; entries that differ only there share a series (the last one read wins)")]
    private static partial void LogUncovered(ILogger log, string map, string bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "map {Map}: key fields {Fields} are in no label and are not the bucket; entries that differ only there count in one series")]
    private static partial void LogUncoveredFields(ILogger log, string map, string fields);

    [LoggerMessage(Level = LogLevel.Information, Message = "map {Map}: reading again (id {Id})")]
    private static partial void LogRecovered(ILogger log, string map, uint id);
}
