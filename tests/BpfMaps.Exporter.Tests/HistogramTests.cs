using System.Globalization;
using BpfMaps.Btf;
using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>Histogram maps on the scrape endpoint: bucket types, bounds, sums, modes, per-CPU maps and errors.</summary>
public sealed class HistogramTests
{
    /// <summary>A key of two u32: a label (at 0) and the bucket index (at 4).</summary>
    private static byte[] Key(uint label, uint bucket)
    {
        byte[] k = new byte[8];
        BitConverter.TryWriteBytes(k, label);
        BitConverter.TryWriteBytes(k.AsSpan(4), bucket);
        return k;
    }

    private static void Put(BpfMap map, uint label, uint bucket, ulong count)
    {
        byte[] value = new byte[map.ValueBufferSize];
        if (map.IsPerCpu)
        {
            // The count is spread over the CPUs: 1 on each but the first, which has the rest.
            for (int c = 0; c < map.Cpus; c++)
            {
                BitConverter.TryWriteBytes(value.AsSpan(c * map.ValueStride), c == 0 ? count - (ulong)(map.Cpus - 1) : 1UL);
            }
        }
        else
        {
            BitConverter.TryWriteBytes(value, count);
        }

        map.Update(Key(label, bucket), value);
    }

    /// <summary>Stops an exporter that should have refused to start, instead of letting it run until the suite ends.</summary>
    private static CancellationToken Deadline()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        return cts.Token;
    }

    private static ExporterOptions Options(BpfMap map, string histogram, string mode = "dump", string labels = """[ { "name": "cpu_id", "type": "u32", "offset": 0 } ]""")
        => ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "lat", "mode": "{{mode}}", "labels": {{labels}},
                          "histogram": {{histogram}} } ] }
            """);

    /// <summary>The bucket samples of one label set: le → cumulative count, in the order scraped.</summary>
    private static List<(string Le, double Count)> Buckets(Scrape s, string name, params (string, string)[] labels)
        => s.Find(name + "_bucket", labels).Select(x => (x.Labels["le"], x.Value)).ToList();

    private static string Les(IEnumerable<(string Le, double Count)> buckets) => string.Join(" ", buckets.Select(b => $"{b.Le}:{b.Count.ToString(CultureInfo.InvariantCulture)}"));

    [Fact]
    public async Task Exp2_buckets_are_cumulative_with_inf_count_and_an_estimated_sum()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 1, 0, 1);   // [0, 1]
        Put(map, 1, 2, 4);   // (2, 4]
        Put(map, 1, 3, 10);  // (4, 8]
        Put(map, 2, 1, 7);   // (1, 2]
        ExporterOptions options = Options(map, """
            { "name": "op_latency", "help": "Latency.", "bucketType": "exp2", "bucketMax": 4,
              "bucket": { "offset": 4, "size": 4 } }
            """);

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("lat");
        TestContext.Current.TestOutputHelper?.WriteLine(s.Text);
        Assert.Equal("1:1 2:1 4:5 8:15 16:15 +Inf:15", Les(Buckets(s, "op_latency", ("cpu_id", "1"))));
        Assert.Equal("1:0 2:7 4:7 8:7 16:7 +Inf:7", Les(Buckets(s, "op_latency", ("cpu_id", "2"))));
        Assert.Equal(15, s.Value("op_latency_count", ("cpu_id", "1")));

        // Each observation at the middle of its bucket: 1·0.5 + 4·3 + 10·6.
        Assert.Equal(72.5, s.Value("op_latency_sum", ("cpu_id", "1")));
        Assert.Equal(7 * 1.5, s.Value("op_latency_sum", ("cpu_id", "2")));
        Assert.Contains("# TYPE op_latency histogram", s.Text, StringComparison.Ordinal);
        Assert.Contains("# HELP op_latency Latency.", s.Text, StringComparison.Ordinal);
        Assert.Contains($"op_latency_bucket{{cpu_id=\"1\",host=\"{RunningExporter.Host}\",le=\"+Inf\"}} 15", s.Text, StringComparison.Ordinal);
        Assert.Equal(4, s.Value("bpfmap_exporter_map_entries", ("map", "lat")));

        // A dump's counts are absolute: a bucket that grows, one that goes, a label set that goes.
        Put(map, 1, 3, 12);
        Assert.True(map.Delete(Key(1, 0)));
        Assert.True(map.Delete(Key(2, 1)));
        s = await e.AfterReadsAsync("lat");
        Assert.Equal("1:0 2:0 4:4 8:16 16:16 +Inf:16", Les(Buckets(s, "op_latency", ("cpu_id", "1"))));
        Assert.Empty(s.Find("op_latency_count", ("cpu_id", "2")));
    }

    [Fact]
    public async Task The_sum_key_bucket_min_multiplier_and_a_clamped_top_bucket_follow_ebpf_exporters_layout()
    {
        // ebpf_exporter's layout: the key is the bucket alone, the program clamps into bucketMax and adds each
        // value to bucket bucketMax + 1. Microseconds, published in seconds.
        using BpfMap map = TestMaps.Create(MapType.Array, 4, 8, maxEntries: 32);
        ulong[] counts = new ulong[32];
        counts[0] = 2; counts[3] = 5; counts[5] = 7; counts[8] = 3; counts[9] = 1234567;
        for (uint i = 0; i < 32; i++)
        {
            map.Update(BitConverter.GetBytes(i), BitConverter.GetBytes(counts[i]));
        }

        ExporterOptions options = Options(map, """
            { "name": "io_seconds", "bucketType": "exp2", "bucketMin": 2, "bucketMax": 8, "multiplier": 1e-6,
              "overflow": "max", "sum": { "key": 9 } }
            """, labels: "[]");

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("lat");
        TestContext.Current.TestOutputHelper?.WriteLine(s.Text);

        // Bucket 0 is counted in the first published one (le 2^2 µs); bucket 8 holds the clamped values, so +Inf only.
        Assert.Equal("4e-06:2 8e-06:7 1.6e-05:7 3.2e-05:14 6.4e-05:14 0.000128:14 +Inf:17", Les(Buckets(s, "io_seconds")));
        Assert.Equal(17, s.Value("io_seconds_count"));
        Assert.Equal(1.234567, s.Value("io_seconds_sum")!.Value, 12);
    }

    [Theory]
    [InlineData("""{ "bucketType": "exp2zero", "bucketMax": 4 }""", "0:3 1:5 2:5 4:5 8:9 +Inf:9")]
    [InlineData("""{ "bucketType": "linear", "bucketMin": 1, "bucketMax": 4, "bucketStep": 10 }""", "20:5 30:5 40:5 50:9 +Inf:9")]
    [InlineData("""{ "bucketType": "fixed", "bucketKeys": [0, 1, 4, 100] }""", "0:3 1:5 4:9 100:9 +Inf:9")]
    [InlineData("""{ "bucketType": "fixed", "bucketKeys": [0, 1, 4, 100], "bucketMin": 1 }""", "1:5 4:9 100:9 +Inf:9")]
    [InlineData("""{ "bucketType": "exp2", "bucketMax": 2, "overflow": "inf" }""", "1:3 2:5 4:5 +Inf:9")]
    public async Task Bucket_types_have_ebpf_exporters_bounds(string histogram, string expected)
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 0, 0, 3);
        Put(map, 0, 1, 2);
        Put(map, 0, 4, 4);
        ExporterOptions options = Options(map, histogram.Replace("{", """{ "name": "h", "bucket": { "offset": 4, "size": 4 }, """, StringComparison.Ordinal));
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("lat");
        Assert.Equal(expected, Les(Buckets(s, "h")));
        Assert.Equal(9, s.Value("h_count"));
    }

    [Fact]
    public async Task Drained_counts_add_to_monotonic_buckets_and_per_cpu_counts_are_summed()
    {
        using BpfMap map = TestMaps.Create(MapType.PerCpuHash, 8, 16);
        ExporterOptions options = Options(map, """
            { "name": "drained", "bucketType": "linear", "bucketMax": 2, "bucket": { "offset": 4, "size": 4 },
              "count": { "offset": 0 }, "sum": { "offset": 8, "size": 8 } }
            """, mode: "drain");

        void PutWithSum(uint bucket, ulong count, ulong sum)
        {
            byte[] value = new byte[map.ValueBufferSize];
            for (int c = 0; c < map.Cpus; c++)
            {
                // Everything on the last CPU, so the sum over CPUs is what counts.
                bool last = c == map.Cpus - 1;
                BitConverter.TryWriteBytes(value.AsSpan(c * map.ValueStride), last ? count : 0UL);
                BitConverter.TryWriteBytes(value.AsSpan((c * map.ValueStride) + 8), last ? sum : 0UL);
            }

            map.Update(Key(5, bucket), value);
        }

        PutWithSum(0, 3, 1);
        PutWithSum(2, 1, 2);
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("lat");
        Assert.Equal("1:3 2:3 3:4 +Inf:4", Les(Buckets(s, "drained", ("cpu_id", "5"))));
        Assert.Equal(3, s.Value("drained_sum", ("cpu_id", "5")));
        Assert.Equal(0, s.Value("bpfmap_exporter_map_entries", ("map", "lat")));

        PutWithSum(1, 10, 15);
        PutWithSum(2, 2, 5);
        s = await e.UntilAsync(x => x.Value("drained_count", ("cpu_id", "5")) == 16, "the second drain");
        Assert.Equal("1:3 2:13 3:16 +Inf:16", Les(Buckets(s, "drained", ("cpu_id", "5"))));
        Assert.Equal(23, s.Value("drained_sum", ("cpu_id", "5")));
        int left = 0;
        foreach (MapEntry _ in map.Dump())
        {
            left++;
        }

        Assert.Equal(0, left);
    }

    [Fact]
    public async Task A_count_above_bucket_max_is_one_line_naming_bucket_max_at_startup_and_while_running()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        Put(map, 1, 1, 1);
        Put(map, 1, 5, 2);
        ExporterOptions options = Options(map, """{ "name": "h", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""");
        var errors = new StringWriter();
        Assert.Equal(2, await ExporterHost.RunAsync(options, errors, Deadline()));
        string line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("bpfmap export: maps[0].histogram.bucketMax: bucket index 5 (key 0100000005000000) is above bucketMax 4; if it holds the sum (ebpf_exporter's layout), set \"sum\": { \"key\": 5 }", line);

        // Later, while running: the read fails (map_up 0, reason layout) and says so once.
        Assert.True(map.Delete(Key(1, 5)));
        options = Options(map, """{ "name": "h", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""");
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        await e.AfterReadsAsync("lat");
        Put(map, 1, 9, 1);
        Scrape s = await e.UntilAsync(x => x.Value("bpfmap_exporter_map_up", ("map", "lat")) == 0, "the failed read");
        Assert.True(s.Value("bpfmap_exporter_read_errors_total", ("map", "lat"), ("reason", "layout")) >= 1);
        Assert.Empty(s.Find("h_count"));
        await Task.Delay(300, TestContext.Current.CancellationToken);
        string[] lines = e.LogText.Split('\n').Where(l => l.Contains("above bucketMax", StringComparison.Ordinal)).ToArray();
        Assert.Equal("map lat: read failed (layout): bucket index 9 (key 0100000009000000) is above bucketMax 4; raise bucketMax, or set overflow to 'inf' (counted in +Inf) or 'max' (the program clamps)", Assert.Single(lines).Split(": ", 2)[1].Trim());
    }

    /// <summary>A hash map with BTF: struct hist_key { u32 dev; u32 cpu; u32 slot; } to struct hist_value { u64 count; u64 sum; char tag[8]; }.</summary>
    private static BpfMap BtfHistogramMap()
    {
        TestMaps.Require();
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint u64 = b.AddInt("unsigned long long", 8, isSigned: false);
        uint ch = b.AddInt("char", 1, isSigned: true);
        uint tag = b.AddArray(ch, u32, 8);
        uint key = b.AddStruct("hist_key", 12, ("dev", u32, 0), ("cpu", u32, 4), ("slot", u32, 8));
        uint value = b.AddStruct("hist_value", 24, ("count", u64, 0), ("sum", u64, 8), ("tag", tag, 16));
        using BtfObject btf = BtfObject.Load(b.Build());
        return BpfMap.Create(new MapSpec
        {
            Type = MapType.Hash, KeySize = 12, ValueSize = 24, MaxEntries = 64, Name = TestMaps.UniqueName(),
            Btf = btf, BtfKeyTypeId = key, BtfValueTypeId = value,
        });
    }

    private static void PutBtf(BpfMap map, uint dev, uint slot, ulong count, ulong sum)
    {
        byte[] k = new byte[12];
        BitConverter.TryWriteBytes(k, dev);
        BitConverter.TryWriteBytes(k.AsSpan(8), slot);
        byte[] v = new byte[24];
        BitConverter.TryWriteBytes(v, count);
        BitConverter.TryWriteBytes(v.AsSpan(8), sum);
        map.Update(k, v);
    }

    [Fact]
    public async Task Bucket_count_and_sum_named_by_btf_field()
    {
        using BpfMap map = BtfHistogramMap();
        PutBtf(map, 259, 1, 4, 7);
        PutBtf(map, 259, 3, 2, 13);
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "lat", "labels": ["dev"],
                          "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "bucket": "slot", "count": "count", "sum": "sum" } } ] }
            """);
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("lat");
        Assert.Equal("1:0 2:4 4:4 8:6 +Inf:6", Les(Buckets(s, "h", ("dev", "259"))));
        Assert.Equal(20, s.Value("h_sum", ("dev", "259")));

        // The key's cpu field is in no label and is not the bucket: entries that differ there count together.
        Assert.Contains("map lat: key fields cpu are in no label and are not the bucket", e.LogText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"bucket\": \"slott\"", "maps[0].histogram.bucket.field: no field 'slott' in the key of map")]
    [InlineData("\"bucket\": \"slot\", \"count\": \"tag\"", "maps[0].histogram.count.field: field 'tag' of map")]
    [InlineData("\"bucket\": \"dev\"", "maps[0].histogram.bucket: key bytes 0..3 are the bucket index and also labels[0] (bytes 0..3)")]
    public async Task Btf_histogram_fields_that_do_not_fit_are_one_line(string fields, string expected)
    {
        using BpfMap map = BtfHistogramMap();
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "lat", "labels": ["dev"],
                          "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, {{fields}} } } ] }
            """);
        var errors = new StringWriter();
        Assert.Equal(2, await ExporterHost.RunAsync(options, errors, Deadline()));
        string line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("bpfmap export: " + expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4, """{ "name": "h", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 } }""", "[]", "maps[0].histogram.bucket: 4 bytes at offset 4 needs 8 bytes but map")]
    [InlineData(8, """{ "name": "h", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 2, "size": 4 } }""", """[ { "name": "a", "type": "u32" } ]""", "maps[0].histogram.bucket: key bytes 2..5 are the bucket index and also labels[0] (bytes 0..3)")]
    [InlineData(12, """{ "name": "h", "bucketType": "exp2", "bucketMax": 4 }""", "[]", "maps[0].histogram.bucket: map '")]
    [InlineData(8, """{ "name": "h", "bucketType": "linear", "bucketMax": 300, "bucket": { "offset": 4, "size": 1 } }""", """[ { "name": "a", "type": "u32" } ]""", "maps[0].histogram.bucketMax: 300 does not fit the 1-byte bucket index (1 bytes at offset 4), which holds up to 255")]
    [InlineData(8, """{ "name": "h", "bucketType": "exp2", "bucketMax": 4, "bucket": { "offset": 4, "size": 4 }, "sum": { "offset": 4 } }""", """[ { "name": "a", "type": "u32" } ]""", "maps[0].histogram.sum: value bytes 4..11 are the sum and also the count (bytes 0..7)")]
    public async Task Fields_that_do_not_fit_the_map_are_one_line_naming_the_field(int keySize, string histogram, string labels, string expected)
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, keySize, 16);
        var errors = new StringWriter();
        Assert.Equal(2, await ExporterHost.RunAsync(Options(map, histogram, labels: labels), errors, Deadline()));
        string line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("bpfmap export: " + expected, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(""" "metrics": [ { "name": "x" } ], "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3 } """, "maps[0].histogram: give either 'metrics' or 'histogram', not both")]
    [InlineData(""" "histogram": { "bucketType": "exp2", "bucketMax": 3 } """, "maps[0].histogram.name: missing")]
    [InlineData(""" "histogram": { "name": "h", "bucketMax": 3 } """, "maps[0].histogram.bucketType: missing; expected exp2, exp2zero, linear or fixed")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "log2", "bucketMax": 3 } """, "maps[0].histogram.bucketType: 'log2' is not exp2, exp2zero, linear or fixed")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2" } """, "maps[0].histogram.bucketMax: missing; the highest bucket published, e.g. 26")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 65 } """, "maps[0].histogram.bucketMax: 65 is above 64: bucket i holds values up to 2^i")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMin": 5, "bucketMax": 3 } """, "maps[0].histogram.bucketMax: 3 is below bucketMin 5")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "overflow": "drop" } """, "maps[0].histogram.overflow: 'drop' is not error, inf or max")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 0, "overflow": "max" } """, "maps[0].histogram.overflow: 'max' publishes the bucketMax bucket in +Inf only")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "bucketStep": 2 } """, "maps[0].histogram.bucketStep: only linear buckets have a step")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "linear", "bucketMax": 3, "bucketStep": 0 } """, "maps[0].histogram.bucketStep: 0 must be a positive number")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "fixed" } """, "maps[0].histogram.bucketKeys: missing; fixed buckets list their keys")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "fixed", "bucketKeys": [1, 10, 5] } """, "maps[0].histogram.bucketKeys[2]: 5 is not above 10")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "multiplier": -1 } """, "maps[0].histogram.multiplier: -1 must be a positive number")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "sum": { "key": 2 } } """, "maps[0].histogram.sum.key: 2 is one of the buckets (up to bucketMax 3)")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "bucket": { "offset": 4 } } """, "maps[0].histogram.bucket.size: missing; the bucket index is 1, 2, 4 or 8 bytes")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "bucket": { "offset": 4, "size": 3 } } """, "maps[0].histogram.bucket.size: 3 is not 1, 2, 4 or 8")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "bucket": { "field": "slot", "offset": 4 } } """, "maps[0].histogram.bucket.field: give a BTF 'field' or 'offset' and 'size', not both")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "count": { "key": 1 } } """, "maps[0].histogram.count.key: only 'sum' can be a key")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3, "buckets": 3 } """, "maps[0].histogram.buckets: unknown field (known: name, help, bucketType,")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": "x" } """, "maps[0].histogram.bucketMax: 'x' is not a valid integer")]
    [InlineData(""" "histogram": "exp2" """, "maps[0].histogram: expected an object")]
    [InlineData(""" "labels": [ { "name": "le", "type": "u32" } ], "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3 } """, "maps[0].labels[0].name: 'le' is the bucket bound label of a histogram")]
    [InlineData(""" "key": "u32", "keyLabel": "le", "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3 } """, "maps[0].keyLabel: 'le' is the bucket bound label of a histogram")]
    [InlineData(""" "histogram": { "name": "h_count", "bucketType": "exp2", "bucketMax": 3 } }, { "map": "id 2", "key": "u8", "metrics": [ { "name": "h_count_sum" } ] """, "maps[1].metrics[0].name: 'h_count_sum' is published as h_count_sum, which maps[0].histogram already uses")]
    [InlineData(""" "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3 } }, { "map": "id 2", "key": "u8", "metrics": [ { "name": "h_count" } ] """, "maps[1].metrics[0].name: 'h_count' is published as h_count, which maps[0].histogram already uses")]
    public void Histogram_configuration_errors_name_the_field(string mapFields, string expected)
    {
        var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Parse($$"""{ "maps": [ { "map": "id 1", {{mapFields}} } ] }"""));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_constant_label_le_is_refused_when_a_map_is_a_histogram()
    {
        var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Parse("""{ "labels": { "le": "x" }, "maps": [ { "map": "id 1", "histogram": { "name": "h", "bucketType": "exp2", "bucketMax": 3 } } ] }"""));
        Assert.Equal("labels.le: 'le' is the bucket bound label of histograms, and maps[0] is a histogram; choose another name", e.Message);
    }

    [Fact]
    public void A_histogram_config_binds_every_field()
    {
        ExporterOptions o = ExporterConfig.Parse("""
            { "maps": [ { "map": "id 1", "labels": ["comm"],
              "histogram": { "name": "lat_seconds", "help": "h", "bucketType": "fixed", "bucketKeys": [1, 10, 100], "bucketMin": 10,
                             "multiplier": 0.001, "overflow": "inf", "bucket": "slot", "count": { "offset": 8, "size": 4 }, "sum": { "key": 1000 } } } ] }
            """);
        HistogramOptions h = o.Maps[0].Histogram!;
        Assert.Equal(("lat_seconds", "fixed", 10L, (ulong)100, 0.001, "slot", 8, 4, (ulong)1000), (h.Name, h.BucketType, h.BucketMin, h.BucketKeys![^1], h.Multiplier, h.Bucket!.Field, h.Count!.Offset, h.Count.Size, h.Sum!.Key));
        HistogramPlan plan = PlanCompiler.Compile(o).Maps[0].Histogram!;
        Assert.Equal((BucketType.Fixed, (ulong)10, (ulong)100, HistogramOverflow.Inf), (plan.Type, plan.BucketMin, plan.BucketMax, plan.Overflow));
    }
}
