using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>
/// <c>bpfmap -j</c> against the real <c>bpftool -j map</c> on maps these tests create and pin: the parsed
/// JSON must be equal. Test handles are closed before either tool runs, so this process holds no map
/// (bpftool reports holders as <c>pids</c> only when built with skeletons; bpfmap leaves its own
/// process out, as bpftool does; see <see cref="SetAsideOtherHolders"/> for other processes).
/// </summary>
public class BpftoolParityTests
{
    private static JsonNode? Bpftool(params string[] args)
    {
        RunResult r = Proc.Run(Kernel.Bpftool(), args);
        Assert.True(r.Exit == 0, $"bpftool {string.Join(' ', args)} failed: {r.Stdout} {r.Stderr}");
        return JsonNode.Parse(r.Stdout);
    }

    private static JsonNode? Ours(params string[] args)
    {
        RunResult r = Cli.Run(args);
        Assert.True(r.Exit == 0, $"bpfmap {string.Join(' ', args)} failed ({r.Exit}): {r.Stderr}");
        return JsonNode.Parse(r.Stdout);
    }

    private static void AssertSame(JsonNode? expected, JsonNode? actual)
    {
        SetAsideOtherHolders(expected, actual);
        Assert.True(JsonNode.DeepEquals(expected, actual), $"bpftool:\n{expected?.ToJsonString()}\nbpfmap:\n{actual?.ToJsonString()}");
    }

    /// <summary>
    /// bpftool built without skeletons (Debian's) prints no <c>pids</c>. bpfmap leaves this process out, but any other
    /// process that walks the system's maps (another test assembly, a running exporter) holds each map for an instant,
    /// and bpfmap rightly lists it then. So where bpftool has no <c>pids</c>, bpfmap's must not name this process, and
    /// are then set aside.
    /// </summary>
    private static void SetAsideOtherHolders(JsonNode? expected, JsonNode? actual)
    {
        if (expected is JsonArray e && actual is JsonArray a)
        {
            for (int i = 0; i < Math.Min(e.Count, a.Count); i++)
            {
                SetAsideOtherHolders(e[i], a[i]);
            }
        }
        else if (expected is JsonObject eo && actual is JsonObject ao && !eo.ContainsKey("pids") && ao["pids"] is JsonArray pids)
        {
            Assert.DoesNotContain(pids, h => (int?)h?["pid"] == Environment.ProcessId);
            ao.Remove("pids");
        }
    }

    private static uint CreatePinned(PinDir dir, string file, MapSpec spec, Action<BpfMap>? fill = null)
    {
        using BpfMap m = BpfMap.Create(spec);
        fill?.Invoke(m);
        m.Pin(dir[file]);
        return m.Id;
    }

    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);

    [Fact]
    public void Hash_map_show_dump_lookup_getnext()
    {
        using var dir = new PinDir();
        uint id = CreatePinned(dir, "h", new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "parity_h" }, m =>
        {
            for (uint k = 0; k < 20; k++)
            {
                m.Update(U32(k * 7), U64((k << 40) | 0xab));
            }
        });
        string pin = dir["h"];
        AssertSame(Bpftool("-j", "map", "show", "pinned", pin), Ours("-j", "show", "pinned", pin));
        AssertSame(Bpftool("-j", "map", "show", "id", $"{id}"), Ours("-j", "show", "id", $"{id}"));
        AssertSame(Bpftool("-j", "-f", "map", "show", "pinned", pin), Ours("-j", "-f", "show", "pinned", pin));
        AssertSame(Bpftool("-j", "map", "dump", "pinned", pin), Ours("-j", "dump", "pinned", pin));
        AssertSame(Bpftool("-p", "map", "dump", "id", $"{id}"), Ours("-p", "dump", "id", $"{id}"));
        AssertSame(Bpftool("-j", "map", "lookup", "pinned", pin, "key", "7", "0", "0", "0"), Ours("-j", "lookup", "pinned", pin, "key", "7", "0", "0", "0"));
        AssertSame(Bpftool("-j", "map", "lookup", "pinned", pin, "key", "hex", "0e", "00", "00", "00"), Ours("-j", "lookup", "pinned", pin, "key", "hex", "0e", "00", "00", "00"));
        AssertSame(Bpftool("-j", "map", "getnext", "pinned", pin), Ours("-j", "getnext", "pinned", pin));

        // The first key in hash order is never the last of 20 (which key is last depends on the hash seed).
        string[] first = Ours("-j", "getnext", "pinned", pin)!["next_key"]!.AsArray().Select(b => b!.GetValue<string>()).ToArray();
        AssertSame(Bpftool(["-j", "map", "getnext", "pinned", pin, "key", .. first]), Ours(["-j", "getnext", "pinned", pin, "key", .. first]));
    }

    [Fact]
    public void Plain_text_dump_matches_bpftool_byte_for_byte()
    {
        using var dir = new PinDir();
        CreatePinned(dir, "h", new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "parity_p" }, m =>
        {
            for (uint k = 0; k < 5; k++)
            {
                m.Update(U32(k), U64(k * 1000));
            }
        });
        RunResult theirs = Proc.Run(Kernel.Bpftool(), ["map", "dump", "pinned", dir["h"]]);
        Assert.Equal(theirs.Stdout, Cli.Run("dump", "pinned", dir["h"]).Stdout);
    }

    [Theory]
    [InlineData("PerCpuHash", 4)]
    [InlineData("PerCpuArray", 12)]
    [InlineData("LruPerCpuHash", 8)]
    public void Per_cpu_maps(string type, int valueSize)
    {
        using var dir = new PinDir();
        MapType t = Enum.Parse<MapType>(type);
        uint id = CreatePinned(dir, "pc", new MapSpec { Type = t, KeySize = 4, ValueSize = valueSize, MaxEntries = 8, Name = "parity_pc" }, m =>
        {
            byte[] v = new byte[m.ValueBufferSize];
            for (uint k = 0; k < 4; k++)
            {
                for (int c = 0; c < m.Cpus; c++)
                {
                    v[c * m.ValueStride] = (byte)(k * 10 + c);
                    v[c * m.ValueStride + valueSize - 1] = 0x5a;
                }

                m.Update(U32(k), v);
            }
        });
        string pin = dir["pc"];
        AssertSame(Bpftool("-j", "map", "show", "pinned", pin), Ours("-j", "show", "pinned", pin));
        AssertSame(Bpftool("-j", "map", "dump", "pinned", pin), Ours("-j", "dump", "pinned", pin));
        AssertSame(Bpftool("-j", "map", "lookup", "id", $"{id}", "key", "2", "0", "0", "0"), Ours("-j", "lookup", "id", $"{id}", "key", "2", "0", "0", "0"));
        Assert.Equal(Proc.Run(Kernel.Bpftool(), ["map", "dump", "pinned", pin]).Stdout, Cli.Run("dump", "pinned", pin).Stdout);
    }

    [Theory]
    [InlineData("ArrayOfMaps")]
    [InlineData("HashOfMaps")]
    public void Map_in_map(string type)
    {
        using var dir = new PinDir();
        using BpfMap inner = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 2, Name = "parity_in" });
        using BpfMap inner2 = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 2, Name = "parity_in2" });
        uint id = CreatePinned(dir, "outer", new MapSpec { Type = Enum.Parse<MapType>(type), KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "parity_out", InnerMap = inner }, m =>
        {
            m.SetInnerMap(U32(0), inner);
            m.SetInnerMap(U32(2), inner2);
        });
        string pin = dir["outer"];
        AssertSame(Bpftool("-j", "map", "show", "pinned", pin), Ours("-j", "show", "pinned", pin));

        // bpftool 7.2 and later print inner_map_id beside the value; older ones do not. bpfmap always
        // does, so against an older bpftool the field is checked against the value and then set aside.
        JsonNode? theirs = Bpftool("-j", "map", "dump", "pinned", pin);
        JsonNode? ours = Ours("-j", "dump", "pinned", pin);
        foreach (JsonNode? e in ours!.AsArray())
        {
            uint innerId = e!["inner_map_id"]!.GetValue<uint>();
            Assert.True(innerId == inner.Id || innerId == inner2.Id);
            byte[] value = e["value"]!.AsArray().Select(b => Convert.ToByte(b!.GetValue<string>(), 16)).ToArray();
            Assert.Equal(innerId, MemoryMarshal.Read<uint>(value));
        }

        if (theirs!.AsArray().Count > 0 && theirs[0]!["inner_map_id"] is null)
        {
            foreach (JsonNode? e in ours.AsArray())
            {
                e!.AsObject().Remove("inner_map_id");
            }
        }

        AssertSame(theirs, ours);
        Assert.Equal(2, ours.AsArray().Count);
        _ = id;
    }

    [Fact]
    public void Frozen_map_shows_frozen()
    {
        using var dir = new PinDir();
        CreatePinned(dir, "f", new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 2, Name = "parity_f" }, m => m.Freeze());
        JsonNode? ours = Ours("-j", "show", "pinned", dir["f"]);
        Assert.Equal(1, ours!["frozen"]!.GetValue<int>());
        AssertSame(Bpftool("-j", "map", "show", "pinned", dir["f"]), ours);
    }

    [Fact]
    public void Show_name_and_show_all_contain_the_same_maps_as_bpftool()
    {
        using var dir = new PinDir();
        string name = $"pn{Environment.ProcessId % 100000}";
        uint id = CreatePinned(dir, "n", new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = name });
        AssertSame(Bpftool("-j", "map", "show", "name", name), Ours("-j", "show", "name", name));

        // Other tests create maps concurrently, so find our map's entry in the full list. bpftool 7.1's
        // full list repeats the btf_id of an earlier map with BTF on later maps without one, so the
        // entry is compared with bpftool's show of that one map.
        JsonNode? Find(JsonNode? list) => list!.AsArray().First(m => m!["id"]!.GetValue<uint>() == id);
        AssertSame(Bpftool("-j", "map", "show", "id", id.ToString(CultureInfo.InvariantCulture)), Find(Ours("-j", "list")));
    }

    [Fact]
    public void A_name_matching_several_maps()
    {
        using var dir = new PinDir();
        string name = $"pm{Environment.ProcessId % 100000}";
        for (int i = 0; i < 2; i++)
        {
            CreatePinned(dir, $"m{i}", new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = name }, m => m.Update(U32((uint)i), U32(7)));
        }

        AssertSame(Bpftool("-j", "map", "show", "name", name), Ours("-j", "show", "name", name));
        AssertSame(Bpftool("-j", "map", "dump", "name", name), Ours("-j", "dump", "name", name));
        Assert.Equal(Proc.Run(Kernel.Bpftool(), ["map", "dump", "name", name]).Stdout, Cli.Run("dump", "name", name).Stdout);
        RunResult lookup = Cli.Run("lookup", "name", name, "key", "0", "0", "0", "0");
        Assert.Equal((int)ExitCode.BadSelector, lookup.Exit);
        Assert.Contains("matches 2 maps", lookup.Stderr);
    }

    [Theory]
    [InlineData("Array", 0u, 4)]
    [InlineData("LruHash", 0u, 4)]
    [InlineData("LpmTrie", 1u, 8)]
    public void Other_map_types_including_ones_without_batch_commands(string type, uint flags, int keySize)
    {
        using var dir = new PinDir();
        MapType t = Enum.Parse<MapType>(type);
        CreatePinned(dir, "o", new MapSpec { Type = t, KeySize = keySize, ValueSize = 4, MaxEntries = 16, Name = "parity_o", Flags = (MapFlags)flags }, m =>
        {
            for (uint k = 0; k < 3; k++)
            {
                byte[] key = new byte[keySize];
                if (t == MapType.LpmTrie)
                {
                    BitConverter.TryWriteBytes(key, 32u);
                    key[4] = 10;
                    key[7] = (byte)k;
                }
                else
                {
                    BitConverter.TryWriteBytes(key, k);
                }

                m.Update(key, U32(k + 100));
            }
        });
        AssertSame(Bpftool("-j", "map", "show", "pinned", dir["o"]), Ours("-j", "show", "pinned", dir["o"]));
        AssertSame(Bpftool("-j", "map", "dump", "pinned", dir["o"]), Ours("-j", "dump", "pinned", dir["o"]));
        Assert.Equal(Proc.Run(Kernel.Bpftool(), ["map", "dump", "pinned", dir["o"]]).Stdout, Cli.Run("dump", "pinned", dir["o"]).Stdout);
    }

    [Fact]
    public void Per_cpu_update_gives_every_cpu_the_value_as_bpftool_does()
    {
        using var dir = new PinDir();
        CreatePinned(dir, "a", new MapSpec { Type = MapType.PerCpuHash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "parity_ua" });
        CreatePinned(dir, "b", new MapSpec { Type = MapType.PerCpuHash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "parity_ub" });
        Assert.Equal(0, Proc.Run(Kernel.Bpftool(), ["map", "update", "pinned", dir["a"], "key", "1", "0", "0", "0", "value", "9", "0", "0", "1"]).Exit);
        Assert.Equal(0, Cli.Run("update", "pinned", dir["b"], "key", "1", "0", "0", "0", "value", "9", "0", "0", "1").Exit);
        AssertSame(Bpftool("-j", "map", "dump", "pinned", dir["a"]), Ours("-j", "dump", "pinned", dir["b"]));
    }

    // Runs the same command through bpftool (on map a) and bpfmap (on map b, a twin of a): both must
    // succeed and print the same bytes.
    private static void SameBytes(string[] theirs, string[] ours)
    {
        RunResult t = Proc.Run(Kernel.Bpftool(), theirs);
        RunResult o = Cli.Run(ours);
        Assert.True(t.Exit == 0, $"bpftool {string.Join(' ', theirs)} failed: {t.Stdout} {t.Stderr}");
        Assert.True(o.Exit == 0, $"bpfmap {string.Join(' ', ours)} failed ({o.Exit}): {o.Stderr}");
        Assert.Equal(t.Stdout, o.Stdout);
    }

    [Theory]
    [InlineData("Queue", 4)]
    [InlineData("Stack", 4)]
    [InlineData("Queue", 24)]
    [InlineData("Stack", 17)]
    public void Queue_and_stack_push_peek_pop_match_bpftool(string type, int valueSize)
    {
        using var dir = new PinDir();
        MapType t = Enum.Parse<MapType>(type);
        var spec = new MapSpec { Type = t, KeySize = 0, ValueSize = valueSize, MaxEntries = 3, Name = "parity_qs" };
        CreatePinned(dir, "a", spec);
        CreatePinned(dir, "b", spec);
        string a = dir["a"], b = dir["b"];
        string[] Value(int i) => ["value", .. Enumerable.Range(0, valueSize).Select(j => ((i * 16 + j) & 0xff).ToString())];

        // bpftool's queue words, enqueue and dequeue, are used where the map is a queue.
        string push2 = t == MapType.Queue ? "enqueue" : "push";
        string pop2 = t == MapType.Queue ? "dequeue" : "pop";
        SameBytes(["map", "push", "pinned", a, .. Value(1)], ["push", "pinned", b, .. Value(1)]);
        SameBytes(["-j", "map", push2, "pinned", a, .. Value(2)], ["-j", push2, "pinned", b, .. Value(2)]);
        SameBytes(["map", "push", "pinned", a, .. Value(3), "any"], ["push", "pinned", b, .. Value(3), "any"]);

        // Full: both refuse; with exist both drop the oldest element.
        Assert.NotEqual(0, Proc.Run(Kernel.Bpftool(), ["map", "push", "pinned", a, .. Value(4)]).Exit);
        Assert.Equal((int)ExitCode.KernelError, Cli.Run(["push", "pinned", b, .. Value(4)]).Exit);
        SameBytes(["map", "push", "pinned", a, .. Value(4), "exist"], ["push", "pinned", b, .. Value(4), "exist"]);

        SameBytes(["map", "peek", "pinned", a], ["peek", "pinned", b]);
        SameBytes(["-j", "map", "peek", "pinned", a], ["-j", "peek", "pinned", b]);
        AssertSame(Bpftool("-p", "map", "peek", "pinned", a), Ours("-p", "peek", "pinned", b));
        SameBytes(["map", "pop", "pinned", a], ["pop", "pinned", b]);
        SameBytes(["-j", "map", pop2, "pinned", a], ["-j", pop2, "pinned", b]);
        AssertSame(Bpftool("-p", "map", "pop", "pinned", a), Ours("-p", "pop", "pinned", b));

        // Empty: both print JSON null and fail (bpftool with -ENOENT, bpfmap with KeyNotFound).
        foreach (string cmd in new[] { "pop", "peek" })
        {
            RunResult theirs = Proc.Run(Kernel.Bpftool(), ["-j", "map", cmd, "pinned", a]);
            RunResult ours = Cli.Run("-j", cmd, "pinned", b);
            Assert.NotEqual(0, theirs.Exit);
            Assert.Equal((int)ExitCode.KeyNotFound, ours.Exit);
            Assert.Equal("null\n", theirs.Stdout);
            Assert.Equal(theirs.Stdout, ours.Stdout);
        }
    }

    [Fact]
    public void Bloom_filter_push_matches_bpftool_and_what_bpftool_pushed_is_found()
    {
        using var dir = new PinDir();
        var spec = new MapSpec { Type = MapType.BloomFilter, KeySize = 0, ValueSize = 4, MaxEntries = 16, Name = "parity_bf" };
        CreatePinned(dir, "a", spec);
        CreatePinned(dir, "b", spec);
        string a = dir["a"], b = dir["b"];
        SameBytes(["-j", "map", "push", "pinned", a, "value", "5", "6", "7", "8"], ["-j", "push", "pinned", b, "value", "5", "6", "7", "8"]);
        SameBytes(["map", "push", "pinned", a, "value", "1", "2", "3", "4"], ["push", "pinned", b, "value", "1", "2", "3", "4"]);

        // bpftool's peek takes no value to test (7.1 does not find even a pushed all-zero value with it),
        // so membership is checked with bpfmap on the filter bpftool filled, in bpftool's keyless-entry shape.
        foreach (string pin in new[] { a, b })
        {
            Assert.Equal("{\"key\":[],\"value\":[\"0x05\",\"0x06\",\"0x07\",\"0x08\"]}\n", Cli.Run("-j", "peek", "pinned", pin, "value", "5", "6", "7", "8").Stdout);
            Assert.Equal("value: 01 02 03 04\n", Cli.Run("peek", "pinned", pin, "value", "1", "2", "3", "4").Stdout);
        }

        // No kernel pops a bloom filter: bpftool reports the errno, bpfmap exits NotSupported.
        Assert.NotEqual(0, Proc.Run(Kernel.Bpftool(), ["map", "pop", "pinned", a]).Exit);
        Assert.Equal((int)ExitCode.NotSupported, Cli.Run("pop", "pinned", b).Exit);
    }
}
