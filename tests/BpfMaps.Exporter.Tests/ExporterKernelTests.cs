using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>The exporter in-process on a loopback port, over maps on the real kernel, scraped with HttpClient.</summary>
public sealed class ExporterKernelTests
{
    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);

    [Fact]
    public async Task Dump_publishes_exact_series_and_follows_updates_and_deletes()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(U32(7), U64(42));
        map.Update(U32(9), U64(1000));
        var options = new ExporterOptions
        {
            Labels = { ["dc"] = "lab1" },
            Maps =
            [
                new MapOptions
                {
                    Map = $"id {map.Id}",
                    Name = "counts",
                    Key = "u32",
                    KeyLabel = "port",
                    Metrics = [new MetricOptions { Name = "bpf_port_bytes", Help = "Bytes by port.", Kind = "counter" }],
                },
            ],
        };

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("counts");
        TestContext.Current.TestOutputHelper?.WriteLine(s.Text);
        Assert.Equal(
            ["bpf_port_bytes_total{dc=\"lab1\",host=\"testhost\",port=\"7\"} 42", "bpf_port_bytes_total{dc=\"lab1\",host=\"testhost\",port=\"9\"} 1000"],
            s.Find("bpf_port_bytes_total").Select(x => x.ToString()).Order(StringComparer.Ordinal));
        Assert.Contains("# TYPE bpf_port_bytes_total counter", s.Text, StringComparison.Ordinal);
        Assert.Contains("# HELP bpf_port_bytes_total Bytes by port.", s.Text, StringComparison.Ordinal);
        Assert.Equal(2, s.Value("bpfmap_exporter_map_entries", ("map", "counts")));
        Assert.Equal(1, s.Value("bpfmap_exporter_map_up", ("map", "counts")));

        map.Update(U32(7), U64(50));
        Assert.True(map.Delete(U32(9)));
        s = await e.AfterReadsAsync("counts");
        Assert.Equal(50, s.Value("bpf_port_bytes_total", ("port", "7")));
        Assert.Empty(s.Find("bpf_port_bytes_total", ("port", "9")));
        Assert.Equal(1, s.Value("bpfmap_exporter_map_entries", ("map", "counts")));
    }

    [Fact]
    public async Task PerCpu_values_are_summed_or_split_by_cpu()
    {
        using BpfMap map = TestMaps.Create(MapType.PerCpuHash, 4, 8);
        int cpus = map.Cpus;
        ulong[] perCpu = Enumerable.Range(0, cpus).Select(c => (ulong)(10 * (c + 1))).ToArray();
        byte[] raw = new byte[map.ValueBufferSize];
        PerCpuValuesExtensions.Write<ulong>(perCpu, raw);
        map.Update(U32(1), raw);
        var options = new ExporterOptions
        {
            Maps =
            [
                new MapOptions
                {
                    Map = $"name {map.Name}",
                    Name = "pcpu",
                    Key = "u32",
                    Metrics =
                    [
                        new MetricOptions { Name = "pcpu_sum", Kind = "counter" },
                        new MetricOptions { Name = "pcpu_max", PerCpu = "max" },
                        new MetricOptions { Name = "pcpu_min", PerCpu = "min" },
                        new MetricOptions { Name = "pcpu_avg", PerCpu = "avg" },
                        new MetricOptions { Name = "pcpu_by_cpu", PerCpu = "cpu" },
                    ],
                },
            ],
        };

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("pcpu");
        double sum = perCpu.Sum(v => (double)v);
        Assert.Equal(sum, s.Value("pcpu_sum_total", ("key", "1")));
        Assert.Equal(10.0 * cpus, s.Value("pcpu_max", ("key", "1")));
        Assert.Equal(10.0, s.Value("pcpu_min", ("key", "1")));
        Assert.Equal(sum / cpus, s.Value("pcpu_avg", ("key", "1")));
        List<Sample> byCpu = s.Find("pcpu_by_cpu");
        Assert.Equal(cpus, byCpu.Count);
        for (int c = 0; c < cpus; c++)
        {
            Assert.Equal(10.0 * (c + 1), s.Value("pcpu_by_cpu", ("key", "1"), ("cpu", c.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
    }

    [Fact]
    public async Task Drain_accumulates_deltas_into_monotonic_counters_across_scrapes()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(U32(1), U64(5));
        map.Update(U32(2), U64(3));
        var options = new ExporterOptions
        {
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "deltas", Mode = "drain", Key = "u32", Metrics = [new MetricOptions { Name = "drained_events" }] }],
        };

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape first = await e.UntilAsync(s => s.Value("drained_events_total", ("key", "1")) is not null, "the first drain");
        Assert.Equal(5, first.Value("drained_events_total", ("key", "1")));
        Assert.Equal(3, first.Value("drained_events_total", ("key", "2")));
        Assert.Equal(0, map.CountEntries());

        map.Update(U32(1), U64(7));
        Scrape second = await e.UntilAsync(s => s.Value("drained_events_total", ("key", "1")) != 5, "the second drain");
        Assert.Equal(12, second.Value("drained_events_total", ("key", "1")));
        Assert.Equal(3, second.Value("drained_events_total", ("key", "2")));
        Assert.Equal(0, map.CountEntries());

        Scrape third = await e.AfterReadsAsync("deltas");
        Assert.Equal(12, third.Value("drained_events_total", ("key", "1")));
        Assert.Equal(0, third.Value("bpfmap_exporter_map_entries", ("map", "deltas")));
    }

    [Fact]
    public async Task Named_fields_decode_struct_keys_and_values()
    {
        // struct { __be32 saddr; __be16 dport; __u8 proto; __u8 pad; } -> struct { __u64 packets; __u32 drops; __u32 pad; }
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 16);
        byte[] key = [10, 0, 0, 1, 0x01, 0xBB, 6, 0];
        byte[] value = new byte[16];
        BitConverter.GetBytes(123ul).CopyTo(value, 0);
        BitConverter.GetBytes(4u).CopyTo(value, 8);
        map.Update(key, value);
        string json = $$"""
        {
          "hostLabel": "", "labels": { "team": "net" },
          "maps": [{
            "map": "id {{map.Id}}", "name": "flows",
            "labels": [
              { "name": "saddr", "type": "ipv4", "offset": 0 },
              { "name": "dport", "type": "be16", "offset": 4 },
              { "name": "proto", "type": "u8", "offset": 6 },
              { "name": "raw", "type": "hex" }
            ],
            "metrics": [
              { "name": "flow_packets", "type": "u64", "offset": 0, "kind": "counter" },
              { "name": "flow_drops", "type": "u32", "offset": 8 }
            ]
          }]
        }
        """;
        ExporterOptions options = ExporterConfig.Parse(json);
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("flows");
        Sample packets = Assert.Single(s.Find("flow_packets_total"));
        Assert.Equal("flow_packets_total{dport=\"443\",proto=\"6\",raw=\"0a00000101bb0600\",saddr=\"10.0.0.1\",team=\"net\"} 123", packets.ToString());
        Assert.Equal(4, s.Value("flow_drops", ("saddr", "10.0.0.1"), ("dport", "443")));
    }

    [Fact]
    public async Task A_pinned_map_that_disappears_is_reported_and_reopened_when_it_returns()
    {
        TestMaps.Require();
        string pin = $"/sys/fs/bpf/{TestMaps.UniqueName()}";
        using (BpfMap first = TestMaps.Create(MapType.Array, 4, 8, maxEntries: 2))
        {
            first.Update(U32(0), U64(11));
            first.Pin(pin);
        }

        try
        {
            var options = new ExporterOptions
            {
                Maps = [new MapOptions { Map = $"pinned {pin}", Name = "pinned", Key = "u32", Metrics = [new MetricOptions { Name = "pinned_value" }] }],
            };
            await using RunningExporter e = await RunningExporter.StartAsync(options);
            Scrape s = await e.AfterReadsAsync("pinned");
            Assert.Equal(11, s.Value("pinned_value", ("key", "0")));

            File.Delete(pin);
            s = await e.UntilAsync(x => x.Value("bpfmap_exporter_map_up", ("map", "pinned")) == 0, "the map to be reported missing");
            Assert.True(s.Value("bpfmap_exporter_read_errors_total", ("map", "pinned"), ("reason", "missing")) >= 1);
            Assert.Empty(s.Find("pinned_value"));
            Assert.Contains($"nothing is pinned at {pin}", e.LogText, StringComparison.Ordinal);

            using BpfMap second = TestMaps.Create(MapType.Array, 4, 8, maxEntries: 2);
            second.Update(U32(1), U64(22));
            second.Pin(pin);
            s = await e.UntilAsync(x => x.Value("pinned_value", ("key", "1")) == 22, "the new map to be read");
            Assert.Equal(0, s.Value("pinned_value", ("key", "0")));
            Assert.Equal(1, s.Value("bpfmap_exporter_map_up", ("map", "pinned")));
        }
        finally
        {
            File.Delete(pin);
        }
    }

    [Fact]
    public async Task An_unknown_map_at_startup_is_a_config_error()
    {
        TestMaps.Require();
        var options = new ExporterOptions
        {
            Listen = "",
            Maps = [new MapOptions { Map = $"name {TestMaps.UniqueName()}", Key = "u32", Metrics = [new MetricOptions { Name = "x" }] }],
        };
        var errors = new StringWriter();
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal((int)ExporterExitCode.BadConfig, code);
        string line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("bpfmap export: maps[0].map: no map named 'ex", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pinned_path_that_is_not_a_pinned_map_is_named_as_such()
    {
        TestMaps.Require();
        string file = Path.Combine(Path.GetTempPath(), $"bpfmap-exporter-{Guid.NewGuid():N}");
        File.WriteAllText(file, "not a map");
        try
        {
            foreach ((string path, string expected) in new[]
            {
                (file, $"bpfmap export: maps[0].map: {file} is not on a bpffs mount, so it is not a pinned BPF object (pins live under /sys/fs/bpf)"),
                ("/sys/fs/bpf", "bpfmap export: maps[0].map: /sys/fs/bpf is a directory, not a pinned BPF object"),
            })
            {
                var options = new ExporterOptions { Listen = "", Maps = [new MapOptions { Map = $"pinned {path}", Key = "u32", Metrics = [new MetricOptions { Name = "x" }] }] };
                var errors = new StringWriter();
                Assert.Equal(2, await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken));
                Assert.Equal(expected, errors.ToString().Trim());
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_decoder_that_does_not_fit_the_map_is_a_config_error()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        var options = new ExporterOptions
        {
            Listen = "",
            Maps = [new MapOptions { Map = $"id {map.Id}", Key = "u64", Metrics = [new MetricOptions { Name = "x" }] }],
        };
        var errors = new StringWriter();
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal((int)ExporterExitCode.BadConfig, code);
        Assert.Equal($"bpfmap export: maps[0].key: u64 at offset 0 needs 8 bytes but map '{map.Name}' (id {map.Id}, hash) has 4-byte keys", errors.ToString().Trim());
    }

    [Theory]
    [InlineData("metric")]
    [InlineData("label")]
    [InlineData("hex label")]
    public async Task An_offset_near_int_max_is_a_layout_error_not_a_crash_of_the_read_loop(string where)
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(U32(1), U64(1));
        LabelOptions label = where switch
        {
            "label" => new LabelOptions { Name = "k", Type = "u32", Offset = int.MaxValue },
            "hex label" => new LabelOptions { Name = "k", Type = "hex", Offset = int.MaxValue, Size = 4 },
            _ => new LabelOptions { Name = "k", Type = "u32" },
        };
        var options = new ExporterOptions
        {
            Listen = "",
            Interval = "50ms",
            Maps = [new MapOptions { Map = $"id {map.Id}", Labels = [label], Metrics = [new MetricOptions { Name = "x", Offset = where == "metric" ? int.MaxValue : 0 }] }],
        };
        var errors = new StringWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        stop.CancelAfter(TimeSpan.FromSeconds(5));
        int code = await ExporterHost.RunAsync(options, TextWriter.Synchronized(errors), stop.Token);
        string expected = where == "metric"
            ? $"bpfmap export: maps[0].metrics[0]: u64 at offset 2147483647 needs 8 bytes but map '{map.Name}' (id {map.Id}, hash) has 8-byte values"
            : $"bpfmap export: maps[0].labels[0]: {(where == "label" ? "u32" : "hex")} at offset 2147483647 needs 4 bytes but map '{map.Name}' (id {map.Id}, hash) has 4-byte keys";
        Assert.True(code == 2, $"exit code {code}: {errors}");
        Assert.Equal(expected, errors.ToString().Trim());
    }

    [Fact]
    public async Task A_perCpu_mode_on_a_map_that_is_not_per_cpu_is_a_config_error()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        var options = new ExporterOptions
        {
            Listen = "",
            Maps = [new MapOptions { Map = $"id {map.Id}", Key = "u32", Metrics = [new MetricOptions { Name = "x", PerCpu = "cpu" }] }],
        };
        var errors = new StringWriter();
        Assert.Equal(2, await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken));
        Assert.Equal($"bpfmap export: maps[0].metrics[0].perCpu: map '{map.Name}' (id {map.Id}, hash) is not a per-CPU map", errors.ToString().Trim());
    }

    [Fact]
    public async Task Without_labels_only_a_single_entry_map_is_accepted()
    {
        using BpfMap many = TestMaps.Create(MapType.Array, 4, 8, maxEntries: 4);
        var errors = new StringWriter();
        var bad = new ExporterOptions { Listen = "", Maps = [new MapOptions { Map = $"id {many.Id}", Metrics = [new MetricOptions { Name = "x" }] }] };
        Assert.Equal(2, await ExporterHost.RunAsync(bad, errors, TestContext.Current.CancellationToken));
        Assert.Equal($"bpfmap export: maps[0].key: map '{many.Name}' (id {many.Id}, array) holds up to 4 entries; give 'key' or 'labels' so that each entry has its own series", errors.ToString().Trim());

        using BpfMap single = TestMaps.Create(MapType.Array, 4, 8, maxEntries: 1);
        single.Update(U32(0), U64(9));
        var good = new ExporterOptions { Maps = [new MapOptions { Map = $"id {single.Id}", Name = "global", Metrics = [new MetricOptions { Name = "global_events", Kind = "counter" }] }] };
        await using RunningExporter e = await RunningExporter.StartAsync(good);
        Scrape s = await e.AfterReadsAsync("global");
        Assert.Equal("global_events_total{host=\"testhost\"} 9", Assert.Single(s.Find("global_events_total")).ToString());
    }

    [Fact]
    public async Task Key_bytes_in_no_label_are_warned_about()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 8, 8);
        var options = new ExporterOptions
        {
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "partial", Labels = [new LabelOptions { Name = "ifindex", Type = "u32", Offset = 0 }, new LabelOptions { Name = "proto", Type = "u8", Offset = 4 }], Metrics = [new MetricOptions { Name = "partial_value" }] }],
        };
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Assert.Contains("map partial: key bytes 5..7 are in no label", e.LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_selector_follows_the_newest_map_with_the_name()
    {
        string name = TestMaps.UniqueName();
        using BpfMap old = TestMaps.Create(MapType.Hash, 4, 8, name: name);
        old.Update(U32(1), U64(100));
        var options = new ExporterOptions
        {
            Maps = [new MapOptions { Map = $"name {name}", Name = "named", Key = "u32", Metrics = [new MetricOptions { Name = "named_value" }] }],
        };
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("named");
        Assert.Equal(100, s.Value("named_value", ("key", "1")));

        using BpfMap replacement = TestMaps.Create(MapType.Hash, 4, 8, name: name);
        replacement.Update(U32(2), U64(200));
        s = await e.UntilAsync(x => x.Value("named_value", ("key", "2")) == 200, "the newer map to be read");
        Assert.Empty(s.Find("named_value", ("key", "1")));
        Assert.Contains($"replaced the previous map with hash map '{name}' (id {replacement.Id}", e.LogText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_busy_listen_address_fails_with_exit_code_1()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        int port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        var options = new ExporterOptions
        {
            Listen = $"127.0.0.1:{port}",
            Maps = [new MapOptions { Map = $"id {map.Id}", Key = "u32", Metrics = [new MetricOptions { Name = "x" }] }],
        };
        var errors = new StringWriter();
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal((int)ExporterExitCode.Failed, code);
        Assert.Contains($"bpfmap export: listen: cannot listen on 127.0.0.1:{port}", errors.ToString(), StringComparison.Ordinal);
    }
}

public sealed class ExporterChurnTests
{
    [Fact]
    public async Task Keys_that_come_and_go_do_not_use_up_the_series_limit()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        var options = new ExporterOptions
        {
            MaxSeries = 4,
            Maps = [new MapOptions { Map = $"id {map.Id}", Name = "churn", Key = "u32", Metrics = [new MetricOptions { Name = "churn_value" }] }],
        };
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        for (uint k = 1; k <= 12; k++)
        {
            map.Update(BitConverter.GetBytes(k), BitConverter.GetBytes((ulong)k * 10));
            if (k > 1)
            {
                map.Delete(BitConverter.GetBytes(k - 1));
            }

            uint key = k;
            Scrape s = await e.UntilAsync(x => x.Value("churn_value", ("key", key.ToString(System.Globalization.CultureInfo.InvariantCulture))) == key * 10, $"key {k}");
            Sample only = Assert.Single(s.Find("churn_value"));
            Assert.Equal((key.ToString(System.Globalization.CultureInfo.InvariantCulture), key * 10.0), (only.Labels["key"], only.Value));
        }
    }
}
