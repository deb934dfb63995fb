namespace BpfMaps.Exporter;

/// <summary>
/// The exporter's configuration as written in the JSON file or on the command line (keys are
/// case-insensitive). <see cref="ExporterConfig.Load(string?, IReadOnlyList{string})"/> reads and
/// validates it; <see cref="ExporterHost.RunAsync(ExporterOptions, CancellationToken)"/> runs it.
/// </summary>
public sealed class ExporterOptions
{
    /// <summary>The default Prometheus listen address: loopback only.</summary>
    public const string DefaultListen = "127.0.0.1:9435";

    /// <summary>
    /// Where the Prometheus scrape endpoint (<c>/metrics</c>) listens, as <c>HOST:PORT</c>
    /// (<c>[::1]:PORT</c> for IPv6). Default <c>127.0.0.1:9435</c>. Empty disables it.
    /// </summary>
    public string Listen { get; set; } = DefaultListen;

    /// <summary>How often maps are read: <c>500ms</c>, <c>10s</c>, <c>1m</c>. Default <c>10s</c>.</summary>
    public string Interval { get; set; } = "10s";

    /// <summary>Optional OTLP endpoint (e.g. <c>http://127.0.0.1:4317</c>) that metrics are pushed to.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>OTLP transport: <c>grpc</c> (default) or <c>http</c> (http/protobuf).</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>
    /// OTLP aggregation temporality: <c>delta</c> (default; points of keys that left a map are
    /// reclaimed) or <c>cumulative</c> (every key ever seen keeps a point, up to <see cref="MaxSeries"/>).
    /// </summary>
    public string OtlpTemporality { get; set; } = "delta";

    /// <summary>
    /// Name of the constant label that carries the host name on every series (default <c>host</c>);
    /// empty to leave it out.
    /// </summary>
    public string HostLabel { get; set; } = "host";

    /// <summary>The host name to report; default the machine's name.</summary>
    public string? Hostname { get; set; }

    /// <summary>More constant labels put on every series (e.g. <c>{"dc": "fra1"}</c>).</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>Most series one metric may have; entries past it are dropped and counted. Default 10000.</summary>
    public int MaxSeries { get; set; } = 10000;

    /// <summary>The maps to export.</summary>
    public List<MapOptions> Maps { get; set; } = [];
}

/// <summary>One map to export and how to turn its entries into series.</summary>
public sealed class MapOptions
{
    /// <summary>Which map, in bpftool's grammar: <c>id N</c>, <c>pinned PATH</c> or <c>name NAME</c>.</summary>
    public string? Map { get; set; }

    /// <summary>The value of the <c>map</c> label on self-metrics; default derived from <see cref="Map"/>.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// <c>dump</c> (default): read every entry each interval, values are absolute. <c>drain</c>: read and
    /// delete every entry, values are deltas that accumulate into monotonic counters.
    /// </summary>
    public string Mode { get; set; } = "dump";

    /// <summary>Shorthand for one label decoded from the whole key (e.g. <c>u32</c>, <c>ipv4</c>, <c>hex</c>).</summary>
    public string? Key { get; set; }

    /// <summary>The label name used with <see cref="Key"/>. Default <c>key</c>.</summary>
    public string KeyLabel { get; set; } = "key";

    /// <summary>
    /// How long a series whose key is no longer read stays published (<c>10m</c>, <c>1h</c>; <c>0</c> never
    /// expires). Drain mode: a key not drained for this long is removed (its counter restarts at 0 if it
    /// comes back), so memory stays bounded under churning keys; default 10m. Dump mode: a key that left
    /// the map keeps its last value this long before it is removed; default 0, removed at once.
    /// </summary>
    public string? ExpireAfter { get; set; }

    /// <summary>Labels decoded from byte ranges of the key.</summary>
    public List<LabelOptions> Labels { get; set; } = [];

    /// <summary>Metrics decoded from the value; at least one, unless the map is a <see cref="Histogram"/>.</summary>
    public List<MetricOptions> Metrics { get; set; } = [];

    /// <summary>
    /// The map is a histogram: its key holds the <see cref="Labels"/> and a bucket index, its value a count.
    /// Instead of <see cref="Metrics"/>.
    /// </summary>
    public HistogramOptions? Histogram { get; set; }
}

/// <summary>
/// A histogram map: each entry counts the observations of one bucket of one label set. The key holds the
/// labels and the bucket index (<see cref="Bucket"/>), the value the count (<see cref="Count"/>), summed over
/// CPUs for per-CPU maps. Bucket types have ebpf_exporter's meanings.
/// </summary>
public sealed class HistogramOptions
{
    /// <summary>The metric name; Prometheus gets <c>NAME_bucket</c>, <c>NAME_sum</c> and <c>NAME_count</c>.</summary>
    public string? Name { get; set; }

    /// <summary>The help text.</summary>
    public string? Help { get; set; }

    /// <summary>
    /// <c>exp2</c>: bucket i holds values up to 2^i. <c>exp2zero</c>: bucket 0 holds 0, bucket i &gt; 0 values up to
    /// 2^(i-1). <c>linear</c>: bucket i holds values below (i+1)·<see cref="BucketStep"/>. <c>fixed</c>: the bucket field
    /// holds the bucket's upper bound itself, one of <see cref="BucketKeys"/>.
    /// </summary>
    public string? BucketType { get; set; }

    /// <summary>The lowest bucket published (lower buckets are counted in it); default 0, or the first of <see cref="BucketKeys"/>.</summary>
    public long? BucketMin { get; set; }

    /// <summary>The highest bucket published; required except for <c>fixed</c> (default the last of <see cref="BucketKeys"/>).</summary>
    public long? BucketMax { get; set; }

    /// <summary><c>linear</c> only: the width of a bucket in the map's units. Default 1.</summary>
    public double? BucketStep { get; set; }

    /// <summary><c>fixed</c> only: the bucket keys, which are their upper bounds, increasing.</summary>
    public List<ulong>? BucketKeys { get; set; }

    /// <summary>Turns the map's units into the published ones, e.g. <c>1e-6</c> for microseconds to seconds. Default 1.</summary>
    public double? Multiplier { get; set; }

    /// <summary>
    /// Counts in buckets above <see cref="BucketMax"/>: <c>error</c> (default) fails the read with a line naming
    /// <c>bucketMax</c>; <c>inf</c> counts them in <c>+Inf</c> only; <c>max</c> says the program clamps into
    /// <see cref="BucketMax"/>, whose count is then published in <c>+Inf</c> only, since it holds larger values too.
    /// </summary>
    public string? Overflow { get; set; }

    /// <summary>The key field holding the bucket index: a BTF field, or an offset and size (1, 2, 4 or 8). Default the whole key when there are no labels.</summary>
    public HistogramFieldOptions? Bucket { get; set; }

    /// <summary>The value field holding the count: a BTF field, or an offset and size (1, 2, 4 or 8; default 8). Default the first 8 bytes of the value.</summary>
    public HistogramFieldOptions? Count { get; set; }

    /// <summary>
    /// Where the sum of the observed values is: a value field (BTF field, or offset and size) summed over the
    /// entries, or <c>key</c>, a bucket index whose count is the sum (ebpf_exporter puts it at bucketMax + 1).
    /// Without it, <c>_sum</c> is estimated from the bucket bounds.
    /// </summary>
    public HistogramFieldOptions? Sum { get; set; }
}

/// <summary>A field of a histogram map: by BTF name, by offset and size, or (for <see cref="HistogramOptions.Sum"/>) a bucket index. A plain string means <see cref="Field"/>.</summary>
public sealed class HistogramFieldOptions
{
    /// <summary>A BTF field name (<c>slot</c>, <c>hist.bucket</c>).</summary>
    public string? Field { get; set; }

    /// <summary>Byte offset in the key or value.</summary>
    public int? Offset { get; set; }

    /// <summary>Byte count: 1, 2, 4 or 8 (an unsigned integer in host byte order); required for a bucket index, default 8 for a count or sum.</summary>
    public int? Size { get; set; }

    /// <summary><see cref="HistogramOptions.Sum"/> only: the bucket index whose count is the sum of the observed values.</summary>
    public ulong? Key { get; set; }
}

/// <summary>A label decoded from a byte range of the key.</summary>
public sealed class LabelOptions
{
    /// <summary>A field of the key's BTF type, by name (<c>saddr</c>, <c>inner.port</c>, <c>slots[2]</c>), instead of <see cref="Offset"/> and <see cref="Size"/>. A plain string in the labels list means this.</summary>
    public string? Field { get; set; }

    /// <summary>The label name.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// The decoder: <c>u8 u16 u32 u64 i8 i16 i32 i64</c> (host byte order), <c>be16 be32 be64</c>
    /// (network byte order, e.g. ports), <c>hex</c>, <c>ipv4</c>, <c>ipv6</c>, <c>string</c> (NUL-terminated).
    /// </summary>
    public string? Type { get; set; }

    /// <summary>Byte offset in the key. Default 0.</summary>
    public int Offset { get; set; }

    /// <summary>Byte count for <c>hex</c> and <c>string</c>; default the rest of the key.</summary>
    public int? Size { get; set; }
}

/// <summary>A metric decoded from the value.</summary>
public sealed class MetricOptions
{
    /// <summary>A field of the value's BTF type, by name, instead of <see cref="Type"/> and <see cref="Offset"/>. A plain string in the metrics list means this.</summary>
    public string? Field { get; set; }

    /// <summary>The metric name (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>); counters get <c>_total</c> appended in Prometheus.</summary>
    public string? Name { get; set; }

    /// <summary>The help text.</summary>
    public string? Help { get; set; }

    /// <summary>The value's type: <c>u64</c> (default), <c>u32</c>, <c>u16</c>, <c>u8</c>, <c>i64</c>, <c>i32</c>, <c>i16</c>, <c>i8</c>.</summary>
    public string Type { get; set; } = "u64";

    /// <summary>Byte offset of the value inside the map value (inside each CPU's slot for per-CPU maps). Default 0.</summary>
    public int Offset { get; set; }

    /// <summary><c>counter</c> or <c>gauge</c>. Default <c>gauge</c> in dump mode, <c>counter</c> in drain mode.</summary>
    public string? Kind { get; set; }

    /// <summary>How per-CPU values are combined: <c>sum</c> (default), <c>min</c>, <c>max</c>, <c>avg</c>, or <c>cpu</c> for one series per CPU with a <c>cpu</c> label.</summary>
    public string? PerCpu { get; set; }
}
