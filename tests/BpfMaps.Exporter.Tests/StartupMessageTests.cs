using System.Net;
using System.Net.Sockets;
using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>Startup failures are one line that points at the problem.</summary>
public sealed class StartupMessageTests
{
    [Fact]
    public void Invalid_json_names_the_line_and_column()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bpfmaps-badjson-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{ \"maps\": [ { \"map\": \"id 1\",\n  \"key\": \"u32\" \n  \"metrics\": [] } ] }");
        try
        {
            var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Load(path, []));
            Assert.StartsWith($"{path}: invalid JSON at line 3, column 3:", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_map_index_past_the_file_is_named_as_given()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bpfmaps-idx-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "maps": [ { "map": "id 1", "key": "u32", "metrics": [ { "name": "x" } ] } ] }""");
        try
        {
            var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Load(path, ["--maps:5:map", "id 2"]));
            Assert.StartsWith("maps[5]: maps are numbered from 0 without gaps, and there is no maps[1]", e.Message, StringComparison.Ordinal);
            Assert.Equal("id 2", ExporterConfig.Load(path, ["--maps:0:map", "id 2"]).Maps[0].Map);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_port_in_use_is_the_only_line()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var errors = new StringWriter();
        var options = new ExporterOptions
        {
            Listen = $"127.0.0.1:{port}",
            Maps = [new MapOptions { Map = $"id {map.Id}", Key = "u32", Metrics = [new MetricOptions { Name = "x" }] }],
        };
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal(1, code);
        Assert.Equal($"bpfmap export: listen: cannot listen on 127.0.0.1:{port}: Address already in use", errors.ToString().TrimEnd());
    }

    [Fact]
    public async Task Draining_a_frozen_map_is_refused_at_startup()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Freeze();
        Assert.True(map.IsFrozen());
        var errors = new StringWriter();
        var options = new ExporterOptions
        {
            Maps = [new MapOptions { Map = $"id {map.Id}", Mode = "drain", Key = "u32", Metrics = [new MetricOptions { Name = "x" }] }],
        };
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal(2, code);
        string line = errors.ToString().TrimEnd();
        Assert.StartsWith("bpfmap export: maps[0].mode: map '", line, StringComparison.Ordinal);
        Assert.Contains("is frozen", line, StringComparison.Ordinal);
        Assert.DoesNotContain("root", line, StringComparison.Ordinal);
    }
}
