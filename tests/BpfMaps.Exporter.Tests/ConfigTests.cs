namespace BpfMaps.Exporter.Tests;

/// <summary>Configuration errors are one line naming the field; no kernel needed.</summary>
public sealed class ConfigTests
{
    private const string Good = """
        { "maps": [ { "map": "pinned /sys/fs/bpf/x", "key": "u32", "metrics": [ { "name": "x_bytes" } ] } ] }
        """;

    private static string Error(string json) => Assert.Throws<ExporterConfigException>(() => ExporterConfig.Parse(json)).Message;

    private static string WithMap(string mapFields) =>
        $$"""{ "maps": [ { "map": "pinned /sys/fs/bpf/x", {{mapFields}} } ] }""";

    [Fact]
    public void A_good_config_has_loopback_defaults()
    {
        ExporterOptions o = ExporterConfig.Parse(Good);
        Assert.Equal("127.0.0.1:9435", o.Listen);
        Assert.Equal("10s", o.Interval);
        Assert.Equal("host", o.HostLabel);
        Assert.Null(o.OtlpEndpoint);
        Assert.Equal("pinned /sys/fs/bpf/x", Assert.Single(o.Maps).Map);
    }

    [Theory]
    [InlineData("""{ "listn": "127.0.0.1:1", "maps": [] }""", "listn: unknown field (known: listen, interval,")]
    [InlineData("""{ "maps": [ { "map": "id 1", "metric": "x" } ] }""", "maps[0].metric: unknown field (known: map, name, mode,")]
    [InlineData("""{ "maps": [ { "map": "id 1", "metrics": [ { "name": "x", "knd": "gauge" } ] } ] }""", "maps[0].metrics[0].knd: unknown field")]
    [InlineData("""{ "maps": [ { "map": "id 1", "labels": [ { "name": "x", "typ": "u8" } ] } ] }""", "maps[0].labels[0].typ: unknown field")]
    [InlineData("""{ "maps": { "map": "id 1" } }""", "maps: expected a list, found field 'map'")]
    public void Unknown_fields_are_named(string json, string expected) =>
        Assert.StartsWith(expected, Error(json), StringComparison.Ordinal);

    [Theory]
    [InlineData("idd 4", "maps[0].map: 'idd 4' is not a map selector; expected 'id N', 'pinned PATH' or 'name NAME'")]
    [InlineData("id x", "maps[0].map: 'id x': 'id' needs a positive map id, as in 'id 42'")]
    [InlineData("pinned relative/path", "maps[0].map: 'pinned relative/path': 'pinned' needs an absolute path on bpffs, as in 'pinned /sys/fs/bpf/counts'")]
    [InlineData("name this_name_is_too_long", "maps[0].map: 'name this_name_is_too_long': 'name' needs a map name of 1 to 15 characters (the kernel keeps 15), as in 'name counts'")]
    public void Malformed_selectors_are_named(string selector, string expected) =>
        Assert.Equal(expected, Error($$"""{ "maps": [ { "map": "{{selector}}", "key": "u32", "metrics": [ { "name": "x" } ] } ] }"""));

    [Theory]
    [InlineData("\"key\": \"u24\", \"metrics\": [{\"name\": \"x\"}]", "maps[0].key: unknown decoder 'u24' (expected one of u8, u16, u32, u64, i8, i16, i32, i64, be16, be32, be64, hex, ipv4, ipv6, string)")]
    [InlineData("\"labels\": [{\"name\": \"a\", \"type\": \"ipv5\"}], \"metrics\": [{\"name\": \"x\"}]", "maps[0].labels[0].type: unknown decoder 'ipv5'")]
    [InlineData("\"labels\": [{\"name\": \"a\"}], \"metrics\": [{\"name\": \"x\"}]", "maps[0].labels[0].type: missing; expected one of u8")]
    [InlineData("\"labels\": [{\"name\": \"a\", \"type\": \"u8\", \"offset\": \"abc\"}], \"metrics\": [{\"name\": \"x\"}]", "maps[0].labels[0].offset: 'abc' is not a valid integer")]
    [InlineData("\"labels\": [{\"name\": \"a\", \"type\": \"u32\", \"size\": 2}], \"metrics\": [{\"name\": \"x\"}]", "maps[0].labels[0].size: u32 is always 4 bytes")]
    [InlineData("\"labels\": [{\"name\": \"1a\", \"type\": \"u8\"}], \"metrics\": [{\"name\": \"x\"}]", "maps[0].labels[0].name: '1a' is not a label name")]
    [InlineData("\"key\": \"u8\", \"labels\": [{\"name\": \"a\", \"type\": \"u8\"}], \"metrics\": [{\"name\": \"x\"}]", "maps[0].key: give either 'key'")]
    [InlineData("\"key\": \"u8\", \"keyLabel\": \"host\", \"metrics\": [{\"name\": \"x\"}]", "maps[0].labels: label 'host' appears twice")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"x\", \"type\": \"f32\"}]", "maps[0].metrics[0].type: unknown value type 'f32' (expected one of u8, u16, u32, u64, i8, i16, i32, i64)")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"x\", \"kind\": \"histogram\"}]", "maps[0].metrics[0].kind: 'histogram' is not 'counter' or 'gauge'")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"x\", \"perCpu\": \"median\"}]", "maps[0].metrics[0].perCpu: 'median' is not one of sum, min, max, avg, cpu")]
    [InlineData("\"key\": \"u8\", \"mode\": \"drain\", \"metrics\": [{\"name\": \"x\", \"kind\": \"gauge\"}]", "maps[0].metrics[0].kind: drain mode reads deltas")]
    [InlineData("\"key\": \"u8\", \"mode\": \"drain\", \"metrics\": [{\"name\": \"x\", \"perCpu\": \"max\"}]", "maps[0].metrics[0].perCpu: 'max' of deltas does not accumulate")]
    [InlineData("\"key\": \"u8\", \"mode\": \"peek\", \"metrics\": [{\"name\": \"x\"}]", "maps[0].mode: 'peek' is not 'dump' or 'drain'")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"x-y\"}]", "maps[0].metrics[0].name: 'x-y' is not a metric name")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"bpfmap_exporter_x\"}]", "maps[0].metrics[0].name: 'bpfmap_exporter_x': the prefix bpfmap_exporter_ is reserved")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"x\"}, {\"name\": \"x\"}]", "maps[0].metrics[1].name: 'x' is published as x, which maps[0].metrics[0] already uses")]
    [InlineData("\"key\": \"u8\", \"metrics\": [{\"name\": \"x\", \"kind\": \"counter\"}, {\"name\": \"x_total\"}]", "maps[0].metrics[1].name: 'x_total' is published as x_total, which maps[0].metrics[0] already uses")]
    [InlineData("\"key\": \"u8\", \"metrics\": []", "maps[0].metrics: no metrics")]
    [InlineData("\"key\": \"u8\"", "maps[0].metrics: no metrics")]
    public void Bad_decoders_and_metrics_are_named(string mapFields, string expected) =>
        Assert.StartsWith(expected, Error(WithMap(mapFields)), StringComparison.Ordinal);

    [Theory]
    [InlineData("\"listen\": \"9435\"", "listen: '9435' is not HOST:PORT")]
    [InlineData("\"listen\": \"example.com:9435\"", "listen: 'example.com' is not an IP address or localhost")]
    [InlineData("\"listen\": \"127.0.0.1:70000\"", "listen: '127.0.0.1:70000' is not HOST:PORT")]
    [InlineData("\"interval\": \"soon\"", "interval: 'soon' is not a duration")]
    [InlineData("\"interval\": \"1ms\"", "interval: '1ms' is not a duration")]
    [InlineData("\"otlpEndpoint\": \"grpc://x\"", "otlpEndpoint: 'grpc://x' is not an http:// or https:// URL")]
    [InlineData("\"otlpProtocol\": \"udp\"", "otlpProtocol: 'udp' is not 'grpc' or 'http'")]
    [InlineData("\"maxSeries\": 0", "maxSeries: 0 is out of range")]
    [InlineData("\"labels\": { \"bad-name\": \"x\" }", "labels.bad-name: 'bad-name' is not a label name")]
    [InlineData("\"labels\": { \"host\": \"x\" }", "labels.host: duplicates the host label")]
    public void Bad_top_level_values_are_named(string field, string expected) =>
        Assert.StartsWith(expected, Error($$"""{ {{field}}, "maps": [ { "map": "id 1", "key": "u8", "metrics": [ { "name": "x" } ] } ] }"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("""{ "listen": { "port": 9435 }, "maps": [] }""", "listen: expected a value, found an object")]
    [InlineData("""{ "interval": [ "10s" ], "maps": [] }""", "interval: expected a value, found a list")]
    [InlineData("""{ "labels": "dc=fra1", "maps": [] }""", "labels: expected an object of label names and values, as in { \"dc\": \"fra1\" }")]
    [InlineData("""{ "maps": [ { "map": "id 1", "mode": [ "drain" ], "key": "u32", "metrics": [ { "name": "x" } ] } ] }""", "maps[0].mode: expected a value, found a list")]
    [InlineData("""{ "maps": [ { "map": { "id": 1 }, "key": "u32", "metrics": [ { "name": "x" } ] } ] }""", "maps[0].map: expected a value, found an object")]
    [InlineData("""{ "maps": [ { "map": "id 1", "key": "u32", "metrics": [ { "name": "x", "kind": { "counter": true } } ] } ] }""", "maps[0].metrics[0].kind: expected a value, found an object")]
    [InlineData("""{ "maps": [ { "map": "id 1", "labels": [ { "name": "a", "type": "u8", "offset": [ 1 ] } ], "metrics": [ { "name": "x" } ] } ] }""", "maps[0].labels[0].offset: expected a value, found a list")]
    public void An_object_or_list_where_a_value_belongs_is_named(string json, string expected) =>
        Assert.Equal(expected, Error(json));

    [Theory]
    [InlineData("\"labels\": { \"map\": \"x\" }", "labels.map: 'map' is a label of the exporter's own metrics (map, reason); choose another name")]
    [InlineData("\"labels\": { \"reason\": \"x\" }", "labels.reason: 'reason' is a label of the exporter's own metrics (map, reason); choose another name")]
    [InlineData("\"hostLabel\": \"map\"", "hostLabel: 'map' is a label of the exporter's own metrics (map, reason); choose another name")]
    public void Constant_labels_may_not_clash_with_self_metric_labels(string field, string expected) =>
        Assert.Equal(expected, Error($$"""{ {{field}}, "maps": [ { "map": "id 1", "key": "u8", "metrics": [ { "name": "x" } ] } ] }"""));

    [Fact]
    public async Task A_constant_label_named_map_exits_2_with_one_line_instead_of_crashing()
    {
        var errors = new StringWriter();
        var options = new ExporterOptions { Listen = "127.0.0.1:1", Labels = { ["map"] = "x" }, Maps = [new MapOptions { Map = "id 1", Key = "u8", Metrics = [new MetricOptions { Name = "x" }] }] };
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal(2, code);
        Assert.Equal("bpfmap export: labels.map: 'map' is a label of the exporter's own metrics (map, reason); choose another name", errors.ToString().TrimEnd());
    }

    [Fact]
    public void No_maps_is_an_error() =>
        Assert.StartsWith("maps: no maps to export", Error("{}"), StringComparison.Ordinal);

    [Fact]
    public void Invalid_json_is_one_line() =>
        Assert.DoesNotContain('\n', Error("""{ "maps": [ """));

    [Fact]
    public void Load_reads_the_file_then_command_line_options_win()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bpfmap-exporter-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Good);
        try
        {
            ExporterOptions o = ExporterConfig.Load(path, ["--listen", "127.0.0.1:9500", "--interval", "2s", "--hostname", "node7", "--maps:0:name", "renamed"]);
            Assert.Equal("127.0.0.1:9500", o.Listen);
            Assert.Equal("2s", o.Interval);
            Assert.Equal("node7", o.Hostname);
            Assert.Equal("renamed", o.Maps[0].Name);
            Assert.Equal("x_bytes", o.Maps[0].Metrics[0].Name);

            var bogus = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Load(path, ["--bogus", "1"]));
            Assert.StartsWith("bogus: unknown field", bogus.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(new[] { "stray" }, "command line: 'stray' is not an option; expected --FIELD VALUE, e.g. --listen 127.0.0.1:9435")]
    [InlineData(new[] { "-x", "1" }, "command line: '-x' is not an option; expected --FIELD VALUE, e.g. --listen 127.0.0.1:9435")]
    [InlineData(new[] { "--interval", "1s", "--listen" }, "listen: --listen needs a value")]
    [InlineData(new[] { "--maps:0:map", "pinned", "/sys/fs/bpf/x" }, "command line: '/sys/fs/bpf/x' is not an option; expected --FIELD VALUE, e.g. --listen 127.0.0.1:9435")]
    public void Load_rejects_command_line_tokens_it_would_ignore(string[] args, string expected)
    {
        string path = Path.Combine(Path.GetTempPath(), $"bpfmap-exporter-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Good);
        try
        {
            Assert.Equal(expected, Assert.Throws<ExporterConfigException>(() => ExporterConfig.Load(path, args)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_takes_options_with_an_equals_sign()
    {
        ExporterOptions o = ExporterConfig.Load(null, ["--listen=127.0.0.1:9501", "--maps:0:map", "pinned /sys/fs/bpf/x", "--maps:0:key", "u32", "--maps:0:metrics:0:name", "x"]);
        Assert.Equal("127.0.0.1:9501", o.Listen);
        Assert.Equal("pinned /sys/fs/bpf/x", o.Maps[0].Map);
    }

    [Fact]
    public void Load_names_a_missing_file()
    {
        var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Load("/nonexistent/exporter.json", []));
        Assert.Equal("config file '/nonexistent/exporter.json' not found", e.Message);
    }

    [Fact]
    public async Task RunAsync_with_a_bad_config_exits_2_with_one_line()
    {
        var errors = new StringWriter();
        var options = new ExporterOptions { Interval = "forever", Maps = [new MapOptions { Map = "id 1", Key = "u8", Metrics = [new MetricOptions { Name = "x" }] }] };
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal(2, code);
        Assert.Equal("bpfmap export: interval: 'forever' is not a duration such as 500ms, 10s or 1m (at least 10ms, at most 1h)", errors.ToString().TrimEnd());
    }
}

public sealed class EntryPointTests
{
    [Fact]
    public async Task RunAsync_from_a_file_reports_an_unknown_field_with_exit_code_2()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bpfmap-exporter-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "maps": [ { "map": "id 1", "key": "u32", "metrics": [ { "name": "x", "tpye": "u64" } ] } ] }""");
        try
        {
            var errors = new StringWriter();
            int code = await ExporterHost.RunAsync(path, [], errors, TestContext.Current.CancellationToken);
            Assert.Equal(2, code);
            Assert.StartsWith("bpfmap export: maps[0].metrics[0].tpye: unknown field (known: field, name, help, type, offset, kind, perCpu)", errors.ToString(), StringComparison.Ordinal);
            Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task RunAsync_from_a_file_names_invalid_json()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bpfmap-exporter-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "maps": [ }""");
        try
        {
            var errors = new StringWriter();
            Assert.Equal(2, await ExporterHost.RunAsync(path, [], errors, TestContext.Current.CancellationToken));
            string line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"bpfmap export: {path}: ", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
