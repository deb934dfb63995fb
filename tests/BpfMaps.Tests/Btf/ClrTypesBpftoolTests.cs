using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Btf;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// Maps created from C# types (<see cref="MapSpec.For{TKey, TValue}"/>), dumped by the real bpftool: its
/// <c>formatted</c> objects carry the C# field names and decode the values (strings as strings, enums by
/// name, bools as true/false), and the library's own formatter prints the same JSON. Each test pins its
/// map in a directory of its own under /sys/fs/bpf and removes it afterwards.
/// </summary>
public sealed class ClrTypesBpftoolTests : IDisposable
{
    private readonly string _dir = $"/sys/fs/bpf/bpfmaps_clrbtf_{Environment.ProcessId}_{Guid.NewGuid():N}";
    private readonly List<string> _pins = [];

    public void Dispose()
    {
        foreach (string pin in _pins)
        {
            File.Delete(pin);
        }

        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir);
        }
    }

    [Fact]
    public void Bpftool_prints_csharp_field_names_and_decoded_values()
    {
        Infrastructure.Kernel.Require();
        _ = Bpftool.Exe;
        using BpfMap map = BpfMap.Create(MapSpec.For<FlowKey, FlowValue>(MapType.Hash, 8, "clr_flows"));
        var flows = new BpfMap<FlowKey, FlowValue>(map);
        var key = new FlowKey { SrcAddr = 0x0100007f, SrcPort = 40000, DstPort = 443, Proto = Protocol.Tcp };
        flows.Update(key, Value(packets: 10, bytes: 1500, comm: "curl", label: "web", verdict: Verdict.Drop, active: true, initial: 'A', shortName: "ab"));

        JsonNode formatted = Bpftool.Formatted(Pin(map, "flows")).Single();
        JsonNode expected = JsonNode.Parse("""
            {"key":{"SrcAddr":16777343,"SrcPort":40000,"DstPort":443,"Proto":"Tcp"},
             "value":{"Totals":{"Packets":10,"Bytes":1500},"Comm":"curl","Recent":[80,443,8080,0],"Label":"web",
                      "Raw":[1,2,3,255],"Verdict":"Drop","Active":true,"Initial":65,"Short":"ab"}}
            """)!;
        AssertJson(expected, formatted);
        AssertJson(formatted, JsonNode.Parse(Format(map, Bytes(key), Bytes(flows.TryLookup(key, out FlowValue v) ? v : default)))!);
    }

    [Fact]
    public void Bpftool_and_the_formatter_agree_on_other_values()
    {
        Infrastructure.Kernel.Require();
        _ = Bpftool.Exe;
        using BpfMap map = BpfMap.Create(MapSpec.For<FlowKey, FlowValue>(MapType.Hash, 8, "clr_flows2"));
        var flows = new BpfMap<FlowKey, FlowValue>(map);
        var first = new FlowKey { SrcAddr = 1, SrcPort = 1, DstPort = 2, Proto = Protocol.Udp };
        var second = new FlowKey { SrcAddr = 2, SrcPort = 3, DstPort = 4, Proto = (Protocol)99 };
        flows.Update(first, Value(packets: 0, bytes: ulong.MaxValue, comm: "", label: "abcdefgh", verdict: Verdict.Pass, active: false, initial: '\u00e9', shortName: "abcdef"));
        flows.Update(second, Value(packets: 1, bytes: 2, comm: "0123456789abcde", label: "x", verdict: (Verdict)7, active: true, initial: '\0', shortName: ""));

        string pin = Pin(map, "flows2");
        IReadOnlyList<JsonNode> dumped = Bpftool.Formatted(pin);
        Assert.Equal(2, dumped.Count);
        foreach (JsonNode entry in dumped)
        {
            bool isFirst = entry["key"]!["SrcAddr"]!.GetValue<uint>() == 1;
            FlowKey k = isFirst ? first : second;
            Assert.True(flows.TryLookup(k, out FlowValue v));
            AssertJson(entry, JsonNode.Parse(Format(map, Bytes(k), Bytes(v)))!);
            if (isFirst)
            {
                Assert.Equal("Udp", entry["key"]!["Proto"]!.GetValue<string>());
                Assert.Equal("Pass", entry["value"]!["Verdict"]!.GetValue<string>());
                Assert.False(entry["value"]!["Active"]!.GetValue<bool>());
                Assert.Equal(ulong.MaxValue, entry["value"]!["Totals"]!["Bytes"]!.GetValue<ulong>());
                Assert.Equal(0xe9, entry["value"]!["Initial"]!.GetValue<int>());
                Assert.IsType<JsonArray>(entry["value"]!["Label"]); // no NUL within 8 bytes: not a string
                Assert.IsType<JsonArray>(entry["value"]!["Short"]);
            }
            else
            {
                Assert.Equal(99, entry["key"]!["Proto"]!.GetValue<int>()); // no enumerator: the number
                Assert.Equal(7, entry["value"]!["Verdict"]!.GetValue<int>());
                Assert.Equal("0123456789abcde", entry["value"]!["Comm"]!.GetValue<string>());
                Assert.Equal("", entry["value"]!["Short"]!.GetValue<string>());
            }
        }
    }

    [Fact]
    public void Per_cpu_values_are_the_element_type()
    {
        Infrastructure.Kernel.Require();
        _ = Bpftool.Exe;
        using BpfMap map = BpfMap.Create(MapSpec.For<uint, Stats>(MapType.PerCpuHash, 4, "clr_pcpu"));
        var stats = new PerCpuBpfMap<uint, Stats>(map);
        Stats[] values = [.. Enumerable.Range(0, stats.Cpus).Select(c => new Stats { Packets = (ulong)c + 1, Bytes = 100 * ((ulong)c + 1) })];
        stats.Update(5, values);

        JsonNode formatted = Bpftool.Formatted(Pin(map, "pcpu")).Single();
        Assert.Equal(5, formatted["key"]!.GetValue<int>());
        JsonArray perCpu = formatted["values"]!.AsArray();
        Assert.Equal(stats.Cpus, perCpu.Count);
        for (int cpu = 0; cpu < stats.Cpus; cpu++)
        {
            var expected = new JsonObject { ["cpu"] = cpu, ["value"] = new JsonObject { ["Packets"] = cpu + 1, ["Bytes"] = 100 * (cpu + 1) } };
            AssertJson(expected, perCpu[cpu]!);
        }

        byte[] raw = new byte[map.ValueBufferSize];
        Assert.True(map.TryLookup(BitConverter.GetBytes(5u), raw));
        AssertJson(formatted, JsonNode.Parse(Format(map, BitConverter.GetBytes(5u), raw))!);
    }

    [Fact]
    public void Floats_are_float_members_with_their_names()
    {
        Infrastructure.Kernel.Require();
        _ = Bpftool.Exe;
        using BpfMap map = BpfMap.Create(MapSpec.For<uint, Reading>(MapType.Array, 1, "clr_float"));
        var readings = new BpfMap<uint, Reading>(map);
        readings.Update(0, new Reading { Sensor = 7, Celsius = 21.5f, Mean = -0.25, Quick = (Half)2 });

        // The kernel's BTF as bpftool reads it back: FLOAT types, members named as in C#.
        string btf = Bpftool.BtfDump(map.Info.BtfId, json: false).AssertSuccess().Stdout;
        Assert.Contains("FLOAT 'float' size=4", btf, StringComparison.Ordinal);
        Assert.Contains("FLOAT 'double' size=8", btf, StringComparison.Ordinal);
        Assert.Contains("FLOAT '_Float16' size=2", btf, StringComparison.Ordinal);
        Assert.Contains("'Celsius' type_id=", btf, StringComparison.Ordinal);

        byte[] value = new byte[map.ValueSize];
        Assert.True(map.TryLookup(BitConverter.GetBytes(0u), value));
        string ours = Format(map, BitConverter.GetBytes(0u), value);
        AssertJson(JsonNode.Parse("""{"key":0,"value":{"Sensor":7,"Celsius":21.5,"Mean":-0.25,"Quick":2}}""")!, JsonNode.Parse(ours)!);

        ToolResult dump = Bpftool.Dump(Pin(map, "float"));
        if (Bpftool.Is71)
        {
            // bpftool 7.1 has no FLOAT in its dumper: it prints the members before the first float by their
            // C# names, then stops there with text that is not JSON.
            Assert.True(dump.Stdout.Contains("\"formatted\":{\"key\":0,\"value\":{\"Sensor\":7,\"Celsius\":(unsupported-kind", StringComparison.Ordinal), dump.Describe());
        }
        else
        {
            AssertJson(JsonNode.Parse(ours)!, Bpftool.Parse(dump).AsArray().Single()!["formatted"]!);
        }
    }

    private string Pin(BpfMap map, string name)
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, name);
        map.Pin(path);
        _pins.Add(path);
        return path;
    }

    private static unsafe FlowValue Value(ulong packets, ulong bytes, string comm, string label, Verdict verdict, bool active, char initial, string shortName)
    {
        var v = new FlowValue { Totals = new Stats { Packets = packets, Bytes = bytes }, Verdict = verdict, Active = active, Initial = initial };
        Encoding.ASCII.GetBytes(comm, new Span<byte>(v.Comm, 16));
        Encoding.ASCII.GetBytes(label, v.Label);
        Encoding.ASCII.GetBytes(shortName, v.Short);
        v.Recent[0] = 80;
        v.Recent[1] = 443;
        v.Recent[2] = 8080;
        v.Raw[0] = 1;
        v.Raw[1] = 2;
        v.Raw[2] = 3;
        v.Raw[3] = 255;
        return v;
    }

    private static byte[] Bytes<T>(T value)
        where T : unmanaged
        => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    internal static string Format(BpfMap map, byte[] key, byte[] value)
    {
        BtfEntryFormatter f = map.GetBtfFormatter() ?? throw new InvalidOperationException($"{map} has no BTF formatter");
        var buffer = new ArrayBufferWriter<byte>();
        var sink = new BtfJsonSink(buffer);
        f.Write(ref sink, key, value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void AssertJson(JsonNode expected, JsonNode actual)
        => Assert.True(JsonNode.DeepEquals(expected, actual), $"expected\n{expected.ToJsonString()}\nbut got\n{actual.ToJsonString()}");
}
