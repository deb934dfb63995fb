using System.Runtime.InteropServices;
using BpfMaps.Btf;
using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>Maps with BTF: labels and metrics named by field, the zero-config default, decoders on fields, and the errors.</summary>
public sealed class BtfFieldTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct FlowKey
    {
        public uint Saddr;
        public ushort Dport;
        public ushort Pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct FlowValue
    {
        public fixed byte Comm[8];
        public ulong Packets;
        public ulong Bytes;
        public int LastErr;
        public uint Pad;
    }

    /// <summary>A hash map whose key and value carry BTF: flow_key { saddr, dport, pad }, flow_value { comm[8], packets, bytes, last_err, pad }.</summary>
    private static BpfMap FlowMap(MapType type = MapType.Hash)
    {
        TestMaps.Require();
        var b = new BtfBuilder();
        uint u16 = b.AddInt("unsigned short", 2, isSigned: false);
        uint u32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint u64 = b.AddInt("unsigned long long", 8, isSigned: false);
        uint s32 = b.AddInt("int", 4, isSigned: true);
        uint ch = b.AddInt("char", 1, isSigned: true);
        uint comm = b.AddArray(ch, u32, 8);
        uint key = b.AddStruct("flow_key", 8, ("saddr", u32, 0), ("dport", u16, 4), ("pad", u16, 6));
        uint value = b.AddStruct("flow_value", 32, ("comm", comm, 0), ("packets", u64, 8), ("bytes", u64, 16), ("last_err", s32, 24), ("pad", u32, 28));
        using BtfObject btf = BtfObject.Load(b.Build());
        return BpfMap.Create(new MapSpec
        {
            Type = type, KeySize = 8, ValueSize = 32, MaxEntries = 64, Name = TestMaps.UniqueName(),
            Btf = btf, BtfKeyTypeId = key, BtfValueTypeId = value,
        });
    }

    private static unsafe void Put(BpfMap map, uint saddr, ushort dport, string comm, ulong packets, ulong bytes, int lastErr)
    {
        var k = new FlowKey { Saddr = saddr, Dport = dport };
        var v = new FlowValue { Packets = packets, Bytes = bytes, LastErr = lastErr };
        for (int i = 0; i < comm.Length; i++)
        {
            v.Comm[i] = (byte)comm[i];
        }

        if (map.IsPerCpu)
        {
            byte[] raw = new byte[map.ValueBufferSize];
            for (int c = 0; c < map.Cpus; c++)
            {
                MemoryMarshal.Write(raw.AsSpan(c * map.ValueStride), in v);
            }

            map.Update(MemoryMarshal.AsBytes(new ReadOnlySpan<FlowKey>(in k)), raw);
            return;
        }

        map.Update(MemoryMarshal.AsBytes(new ReadOnlySpan<FlowKey>(in k)), MemoryMarshal.AsBytes(new ReadOnlySpan<FlowValue>(in v)));
    }

    [Fact]
    public async Task Labels_and_metrics_by_field_name()
    {
        using BpfMap map = FlowMap();
        Put(map, 0x0100007f, 443, "curl", 3, 180, -2);
        Put(map, 0x0200007f, 80, "wget", 1, 60, 0);
        ExporterOptions options = ExporterConfig.Parse($$"""
            { "maps": [ { "map": "id {{map.Id}}", "name": "flows",
              "labels": [ "dport", { "field": "saddr", "type": "ipv4", "name": "src" } ],
              "metrics": [ "packets", { "field": "bytes", "name": "flow_bytes", "kind": "counter" }, "last_err" ] } ] }
            """);
        Assert.Equal("dport", options.Maps[0].Labels[0].Field);

        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("flows");
        Assert.Equal(3, s.Value("flows_packets", ("dport", "443"), ("src", "127.0.0.1")));
        Assert.Equal(60, s.Value("flow_bytes_total", ("dport", "80"), ("src", "127.0.0.2")));
        Assert.Equal(-2, s.Value("flows_last_err", ("dport", "443")));
        Assert.Contains("# HELP flows_packets Field packets of map flows.", s.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE flow_bytes_total counter", s.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_map_with_btf_and_no_field_lists_exports_every_key_field_and_numeric_value_field()
    {
        using BpfMap map = FlowMap(MapType.PerCpuHash);
        Put(map, 0x0100007f, 443, "curl", 3, 180, -2);
        var options = new ExporterOptions { Maps = [new MapOptions { Map = $"id {map.Id}", Name = "pflows" }] };
        await using RunningExporter e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("pflows");
        // Every key field is a label; per-CPU values are summed over the possible CPUs.
        Assert.Equal(3.0 * map.Cpus, s.Value("pflows_packets", ("saddr", "16777343"), ("dport", "443"), ("pad", "0")));
        Assert.Equal(180.0 * map.Cpus, s.Value("pflows_bytes", ("dport", "443")));
        Assert.Equal(-2.0 * map.Cpus, s.Value("pflows_last_err", ("dport", "443")));
        Assert.Empty(s.Find("pflows_comm"));
    }

    [Fact]
    public async Task An_unknown_field_lists_the_fields_there_are()
    {
        using BpfMap map = FlowMap();
        var errors = new StringWriter();
        ExporterOptions options = ExporterConfig.Parse($$"""{ "maps": [ { "map": "id {{map.Id}}", "labels": ["dport"], "metrics": ["pakets"] } ] }""");
        int code = await ExporterHost.RunAsync(options, errors, TestContext.Current.CancellationToken);
        Assert.Equal(2, code);
        string what = $"map '{map.Name}' (id {map.Id}, hash)";
        Assert.Equal($"bpfmap export: maps[0].metrics[0].field: no field 'pakets' in the value of {what}; its fields are comm, packets, bytes, last_err, pad", OneLine(errors));

        Assert.Equal(
            $"bpfmap export: maps[0].labels[0].field: no field 'sport' in the key of {what}; its fields are saddr, dport, pad",
            await ConfigErrorAsync($$"""{ "maps": [ { "map": "id {{map.Id}}", "labels": ["sport"], "metrics": ["packets"] } ] }"""));
        Assert.Equal(
            $"bpfmap export: maps[0].metrics[0].field: field 'comm' of {what} is text, not a number; numeric fields are packets, bytes, last_err, pad",
            await ConfigErrorAsync($$"""{ "maps": [ { "map": "id {{map.Id}}", "labels": ["dport"], "metrics": ["comm"] } ] }"""));
        Assert.Equal(
            $"bpfmap export: maps[0].labels[0].type: ipv4 needs 4 bytes but field 'dport' of {what} has 2",
            await ConfigErrorAsync($$"""{ "maps": [ { "map": "id {{map.Id}}", "labels": [{ "field": "dport", "type": "ipv4" }], "metrics": ["packets"] } ] }"""));
    }

    /// <summary>The one line the exporter prints for <paramref name="json"/>, which must be a configuration error (exit code 2).</summary>
    private static async Task<string> ConfigErrorAsync(string json)
    {
        var errors = new StringWriter();
        Assert.Equal(2, await ExporterHost.RunAsync(ExporterConfig.Parse(json), errors, TestContext.Current.CancellationToken));
        return OneLine(errors);
    }

    private static string OneLine(StringWriter errors) => Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public async Task Fields_of_a_map_without_btf_are_a_configuration_error()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        string what = $"map '{map.Name}' (id {map.Id}, hash)";
        Assert.Equal(
            $"bpfmap export: maps[0].map: {what} has no BTF; name fields by offset and type instead",
            await ConfigErrorAsync($$"""{ "maps": [ { "map": "id {{map.Id}}", "key": "u32", "metrics": ["packets"] } ] }"""));
        Assert.Equal(
            $"bpfmap export: maps[0].metrics: {what} has no BTF, so there are no fields to export by default; give 'labels' and 'metrics' by offset and type",
            await ConfigErrorAsync($$"""{ "maps": [ { "map": "id {{map.Id}}" } ] }"""));
    }

    [Theory]
    [InlineData("\"labels\": [\"saddr\"], \"metrics\": [{\"field\": \"bytes\", \"offset\": 8}]", "maps[0].metrics[0].field: give a BTF 'field' or 'type' and 'offset', not both")]
    [InlineData("\"labels\": [{\"field\": \"saddr\", \"offset\": 4}], \"metrics\": [\"bytes\"]", "maps[0].labels[0].field: give a BTF 'field' or 'offset' and 'size', not both")]
    [InlineData("\"labels\": [\"sad dr\"], \"metrics\": [\"bytes\"]", "maps[0].labels[0].field: 'sad dr' is not a field name")]
    [InlineData("\"labels\": [\"saddr\"], \"metrics\": [\"bytes;\"]", "maps[0].metrics[0].field: 'bytes;' is not a field name")]
    [InlineData("\"labels\": [\"saddr\"]", "maps[0].metrics: no metrics")]
    public void Field_configuration_errors_name_the_field(string mapFields, string expected)
    {
        var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Parse($$"""{ "maps": [ { "map": "id 1", {{mapFields}} } ] }"""));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }
}
