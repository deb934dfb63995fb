using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>The commands end to end in this process against the kernel, and every error's exit code.</summary>
public class CommandTests
{
    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static RunResult Ok(params string[] args)
    {
        RunResult r = Cli.Run(args);
        Assert.True(r.Exit == 0, $"bpfmap {string.Join(' ', args)} exited {r.Exit}: {r.Stderr}");
        Assert.Equal("", r.Stderr);
        return r;
    }

    private static void Fails(ExitCode code, string contains, params string[] args)
    {
        RunResult r = Cli.Run(args);
        Assert.True(r.Exit == (int)code, $"expected {code} ({(int)code}), got {r.Exit}: {r.Stderr}");
        Assert.Single(r.StderrLines);
        Assert.StartsWith("bpfmap: ", r.Stderr);
        Assert.Contains(contains, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Create_update_lookup_getnext_delete_pin_freeze()
    {
        using var dir = new PinDir();
        string p = dir["m"];
        Ok("create", p, "type", "hash", "key", "4", "value", "8", "entries", "16", "name", "cmd_test");
        Ok("update", "pinned", p, "key", "1", "0", "0", "0", "value", "hex", "2a", "00", "00", "00", "00", "00", "00", "00");
        Ok("update", "pinned", p, "key", "2", "0", "0", "0", "value", "0x07", "0", "0", "0", "0", "0", "0", "0", "noexist");
        Fails(ExitCode.KernelError, "already exists", "update", "pinned", p, "key", "2", "0", "0", "0", "value", "1", "0", "0", "0", "0", "0", "0", "0", "noexist");
        Fails(ExitCode.KeyNotFound, "not found", "update", "pinned", p, "key", "9", "0", "0", "0", "value", "1", "0", "0", "0", "0", "0", "0", "0", "exist");
        Assert.Equal("key: 01 00 00 00  value: 2a 00 00 00 00 00 00 00\n", Ok("lookup", "pinned", p, "key", "1", "0", "0", "0").Stdout);
        Assert.Equal("null\n", Ok("-j", "update", "pinned", p, "key", "3", "0", "0", "0", "value", "3", "0", "0", "0", "0", "0", "0", "0").Stdout);
        byte[] first = new byte[4];
        using (BpfMap pm = BpfMap.OpenPinned(p))
        {
            Assert.True(pm.TryGetNextKey([], first));
        }

        Assert.Equal($"key: None\nnext key:\n{first[0]:x2} 00 00 00\n", Ok("getnext", "pinned", p).Stdout);
        Ok("delete", "pinned", p, "key", "3", "0", "0", "0");
        Fails(ExitCode.KeyNotFound, "not found", "delete", "pinned", p, "key", "3", "0", "0", "0");
        Ok("pin", "pinned", p, dir["m2"]);
        string[] dumped = Ok("dump", "pinned", dir["m2"]).Stdout.Split('\n');
        Assert.Equal(["key: 01 00 00 00  value: 2a 00 00 00 00 00 00 00", "key: 02 00 00 00  value: 07 00 00 00 00 00 00 00"], dumped[..^2].Order());
        Assert.Equal(["Found 2 elements", ""], dumped[^2..]);
        Ok("freeze", "pinned", p);
        JsonNode shown = JsonNode.Parse(Ok("-j", "show", "pinned", p).Stdout)!;
        Assert.Equal(("hash", "cmd_test", 0, 4, 8, 16, 1), (shown["type"]!.GetValue<string>(), shown["name"]!.GetValue<string>(), shown["flags"]!.GetValue<int>(),
            shown["bytes_key"]!.GetValue<int>(), shown["bytes_value"]!.GetValue<int>(), shown["max_entries"]!.GetValue<int>(), shown["frozen"]!.GetValue<int>()));
        Fails(ExitCode.PermissionDenied, "permission denied", "update", "pinned", p, "key", "1", "0", "0", "0", "value", "1", "0", "0", "0", "0", "0", "0", "0");
    }

    [Fact]
    public void Getnext_past_the_last_key_and_lookup_of_an_absent_key()
    {
        using var dir = new PinDir();
        string p = dir["g"];
        Ok("create", p, "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "cmd_g");
        Fails(ExitCode.KeyNotFound, "empty", "getnext", "pinned", p);
        Ok("update", "pinned", p, "key", "1", "0", "0", "0", "value", "1", "0", "0", "0");
        Fails(ExitCode.KeyNotFound, "no key after", "getnext", "pinned", p, "key", "1", "0", "0", "0");
        RunResult r = Cli.Run("-j", "lookup", "pinned", p, "key", "5", "0", "0", "0");
        Assert.Equal((int)ExitCode.KeyNotFound, r.Exit);
        Assert.Equal("null\n", r.Stdout);
        Assert.Single(r.StderrLines);
        RunResult d = Cli.Run("-j", "delete", "pinned", p, "key", "5", "0", "0", "0");
        Assert.Equal((int)ExitCode.KeyNotFound, d.Exit);
        using BpfMap m = BpfMap.OpenPinned(p);
        Assert.Equal($"{{\"error\":\"key 05 00 00 00 not found in map {m.Id}\"}}\n", d.Stdout);
    }

    [Fact]
    public void Create_map_in_map_and_put_an_inner_map()
    {
        using var dir = new PinDir();
        Ok("create", dir["in"], "type", "array", "key", "4", "value", "4", "entries", "2", "name", "cmd_in");
        Ok("create", dir["out"], "type", "hash_of_maps", "key", "4", "value", "4", "entries", "4", "name", "cmd_out", "inner_map", "pinned", dir["in"]);
        Ok("update", "pinned", dir["out"], "key", "1", "0", "0", "0", "value", "pinned", dir["in"]);
        uint innerId = JsonNode.Parse(Ok("-j", "show", "pinned", dir["in"]).Stdout)!["id"]!.GetValue<uint>();
        Assert.Equal(innerId, JsonNode.Parse(Ok("-j", "dump", "pinned", dir["out"]).Stdout)![0]!["inner_map_id"]!.GetValue<uint>());
        Fails(ExitCode.Usage, "needs inner_map", "create", dir["x"], "type", "array_of_maps", "key", "4", "value", "4", "entries", "4", "name", "x");
    }

    [Fact]
    public void Dump_filters_sorts_tops_and_reduces_per_cpu_values()
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.PerCpuHash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "cmd_pc" });
        for (uint k = 0; k < 10; k++)
        {
            byte[] v = new byte[m.ValueBufferSize];
            for (int c = 0; c < m.Cpus; c++)
            {
                BitConverter.TryWriteBytes(v.AsSpan(c * m.ValueStride), (ulong)(k * 10 + c));
            }

            m.Update(U32(k | (k < 5 ? 0u : 0x100u)), v);
        }

        string id = m.Id.ToString();
        string csv = Ok("--format", "csv", "--percpu", "sum", "--sort", "value", "--top", "3", "dump", "id", id).Stdout;
        int cpus = m.Cpus;
        int cpuSum = cpus * (cpus - 1) / 2;
        Assert.Equal(["key,key_u,value_sum", $"09010000,265,{90 * cpus + cpuSum}", $"08010000,264,{80 * cpus + cpuSum}", $"07010000,263,{70 * cpus + cpuSum}"], csv.TrimEnd().Split('\n'));

        string keys = Ok("--format", "csv", "--percpu", "max", "--sort", "key", "--key-prefix", "0701", "dump", "id", id).Stdout;
        Assert.Equal([$"07010000,263,{70 + cpus - 1}"], keys.TrimEnd().Split('\n').Skip(1));

        Assert.Equal("{\"key\":[\"0x00\",\"0x00\",\"0x00\",\"0x00\"],\"value\":0}\n", Ok("--format", "ndjson", "--percpu", "min", "--sort", "key", "--top", "1", "dump", "id", id).Stdout);

        // Every entry is a row: its key, the key as a number, and a column per CPU (the first is checked,
        // so that the test holds wherever the table must narrow columns to fit 140 characters).
        string[] table = Cli.Run(terminal: true, "dump", "id", id).Stdout.Split('\n');
        string[][] rows = [.. table.Where(l => l.Contains('│')).Select(l => l.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[..3])];
        Assert.Equal(["key", "key (u)", "cpu 0"], rows[0]);
        Assert.Equal(
            Enumerable.Range(0, 10).Select(k => (uint)(k | (k < 5 ? 0 : 0x100))).Select(k => $"{Convert.ToHexString(U32(k)).ToLowerInvariant()} {k} {k % 0x100 * 10}"),
            rows[1..].Select(r => $"{r[0].Replace(" ", "", StringComparison.Ordinal)} {r[1]} {r[2]}").OrderBy(r => uint.Parse(r.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains("10 entries", table.Last(l => l.Trim().Length > 0));
    }

    [Fact]
    public void Drain_empties_the_map_and_prints_what_it_took()
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 64, Name = "cmd_drain" });
        for (uint k = 0; k < 40; k++)
        {
            m.Update(U32(k), U32(k));
        }

        // Every key once, with its value, in bpftool's shape.
        JsonArray drained = JsonNode.Parse(Ok("-j", "drain", "id", m.Id.ToString()).Stdout)!.AsArray();
        Assert.Equal(
            Enumerable.Range(0, 40).Select(k => $"{{\"key\":[\"0x{k:x2}\",\"0x00\",\"0x00\",\"0x00\"],\"value\":[\"0x{k:x2}\",\"0x00\",\"0x00\",\"0x00\"]}}"),
            drained.Select(e => e!.ToJsonString()).Order(StringComparer.Ordinal));
        Assert.Equal(0, m.CountEntries());
    }

    [Fact]
    public void Watch_prints_frames_and_stops_after_count()
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "cmd_watch" });
        m.Update(U32(1), BitConverter.GetBytes(5UL));
        RunResult r = Ok("--format", "ndjson", "watch", "id", m.Id.ToString(), "--interval", "0.05", "--count", "2");
        Assert.Equal(
            [
                "{\"tick\":1,\"entries\":1,\"keys\":1,\"total\":5,\"delta\":0,\"rate\":0,\"top\":[{\"key\":\"01000000\",\"value\":5,\"delta\":0,\"rate\":0}]}",
                "{\"tick\":2,\"entries\":1,\"keys\":1,\"total\":5,\"delta\":0,\"rate\":0,\"top\":[{\"key\":\"01000000\",\"value\":5,\"delta\":0,\"rate\":0}]}",
            ],
            r.Stdout.TrimEnd().Split('\n').Select(f => Untimed(f, rates: false)));
        Assert.Equal("tick 1: entries 1 keys 1 total 5 delta 0 rate 0.0/s\n  key 1  value 5  delta 0  rate 0.0/s\n", Ok("watch", "id", m.Id.ToString(), "--count", "1").Stdout);

        // A drain takes the whole value as the delta; the rate depends on the time the tick took.
        RunResult d = Ok("--format", "ndjson", "watch", "id", m.Id.ToString(), "--drain", "--interval", "0.05", "--count", "1");
        JsonNode drained = JsonNode.Parse(d.Stdout)!;
        Assert.True(drained["rate"]!.GetValue<double>() > 0, d.Stdout);
        Assert.Equal(drained["rate"]!.GetValue<double>(), drained["top"]![0]!["rate"]!.GetValue<double>());
        Assert.Equal(
            "{\"tick\":1,\"entries\":1,\"keys\":1,\"total\":5,\"delta\":5,\"top\":[{\"key\":\"01000000\",\"value\":5,\"delta\":5}]}",
            Untimed(d.Stdout, rates: true));
        Assert.Equal(0, m.CountEntries());

        // The frame without the fields that depend on timing.
        static string Untimed(string frame, bool rates)
        {
            JsonObject f = JsonNode.Parse(frame)!.AsObject();
            Assert.True(f.Remove("elapsed"), frame);
            if (rates)
            {
                foreach (JsonObject o in (IEnumerable<JsonObject>)[f, .. f["top"]!.AsArray().Select(x => x!.AsObject())])
                {
                    Assert.True(o.Remove("rate"), frame);
                }
            }

            return f.ToJsonString();
        }
    }

    [Fact]
    public void Watch_applies_the_key_prefix_and_refuses_what_it_cannot_honour()
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "cmd_watchp" });
        m.Update(U32(0x01), BitConverter.GetBytes(5UL));
        m.Update(U32(0x03), BitConverter.GetBytes(7UL));
        RunResult r = Ok("--format", "ndjson", "--key-prefix", "03", "watch", "id", m.Id.ToString(), "--count", "1");
        JsonNode frame = JsonNode.Parse(r.Stdout.TrimEnd())!;
        Assert.Equal(7, frame["total"]!.GetValue<double>());
        Assert.Equal("03000000", Assert.Single(frame["top"]!.AsArray())!["key"]!.GetValue<string>());

        Cli.Fails(ExitCode.Usage, "--key-prefix would delete the keys it hides", "--key-prefix", "03", "watch", "id", m.Id.ToString(), "--drain", "--count", "1");
        Cli.Fails(ExitCode.Usage, "--key-prefix would delete the keys it hides", "--key-prefix", "03", "drain", "id", m.Id.ToString());
        Cli.Fails(ExitCode.Usage, "--format csv is not a watch format", "--format", "csv", "watch", "id", m.Id.ToString(), "--count", "1");
        Cli.Fails(ExitCode.SizeMismatch, "--key-prefix has 5 bytes", "--key-prefix", "0300000000", "watch", "id", m.Id.ToString(), "--count", "1");
        Assert.Equal(2, m.CountEntries());
    }

    [Fact]
    public void Conflicting_or_misplaced_options_are_refused()
    {
        Cli.Fails(ExitCode.Usage, "-j/-p and --format csv conflict", "-j", "--format", "csv", "dump", "id", "1");
        Cli.Fails(ExitCode.Usage, "-j/-p and --format table conflict", "-p", "--format", "table", "show");
        using var dir = new PinDir();
        using BpfMap inner = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "cmd_inner" });
        Cli.Fails(ExitCode.Usage, "inner_map is only for array_of_maps and hash_of_maps, not hash",
            "create", dir["h"], "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "h", "inner_map", "id", inner.Id.ToString());
        Assert.False(File.Exists(dir["h"]));
    }

    [Fact]
    public void Demo_reconciles_with_nothing_lost()
    {
        Kernel.Require();
        RunResult r = Ok("--format", "ndjson", "demo", "--seconds", "1");
        string last = r.Stdout.TrimEnd().Split('\n')[^1];
        Assert.Matches(@"^reconciliation after [\d.]+ s: produced [\d,]+ = drained [\d,]+ \+ remaining [\d,]+, 0 lost$", last);
    }

    [Fact]
    public void Bench_compares_with_bpftool_on_a_small_map()
    {
        Kernel.RequireBpffs();
        Kernel.Bpftool();
        RunResult r = Cli.Run("bench", "--entries", "2000", "--runs", "1", "--scenario", "u64");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("bench: filled a 2,000-entry hash map", r.Stderr);
        Assert.Contains("bpfmap -j dump", r.Stdout);
        Assert.Contains("bpftool -j map dump", r.Stdout);
        Assert.Contains("outputs: bpftool's and bpfmap's JSON are identical", r.Stdout);

        // The test host runs the JIT build: the AOT ratios say how to get them, and the drain is timed all the same.
        Assert.Contains("ratio: AOT dump / C loop: not timed", r.Stdout);
        Assert.Contains("ratio: any dump / C loop: not timed: pass --fallback", r.Stdout);
        Assert.Contains("bpfmap -j drain", r.Stdout);
        if (!r.Stderr.Contains("no C loop", StringComparison.Ordinal))
        {
            Assert.Matches(@"ratio: bpfmap -j drain \(not AOT: the target is for AOT\) / C LOOKUP_AND_DELETE_BATCH loop, wall time: [\d.]+x \(target <= 1\.15x: (met|short by \d+%)\); CPU time [\d.]+x", r.Stdout);
        }
    }

    [Fact]
    public void Bench_times_a_fallback_build_given_by_path_against_the_c_loop()
    {
        Kernel.RequireBpffs();
        Kernel.Bpftool();

        // The build output is framework-dependent, as the any package is.
        string dll = Path.Combine(AppContext.BaseDirectory, "bpfmap.dll");
        RunResult r = Cli.Run("bench", "--entries", "2000", "--runs", "1", "--scenario", "u64", "--fallback", dll);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("bpfmap any -j dump", r.Stdout);
        if (!r.Stderr.Contains("no C loop", StringComparison.Ordinal))
        {
            Assert.Matches(@"ratio: any \(framework-dependent\) bpfmap -j dump / C LOOKUP_BATCH loop, wall time: [\d.]+x \(target <= 1\.60x: (met|short by \d+%)\)", r.Stdout);
        }
    }

    [Fact]
    public void Show_from_another_process_lists_this_process_as_a_holder_of_the_map()
    {
        Kernel.Require();
        using BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = "holder_scan" });
        string comm = File.ReadAllText("/proc/self/comm").TrimEnd('\n');
        RunResult child = Cli.RunProcess(null, "-j", "show", "id", $"{map.Id}");
        Assert.True(child.Exit == 0, child.Stderr);
        JsonArray pids = JsonNode.Parse(child.Stdout)!["pids"]!.AsArray();
        Assert.Contains(pids, p => p!["pid"]!.GetValue<int>() == Environment.ProcessId && p["comm"]!.GetValue<string>() == comm);

        // In this process we are the only holder, and show leaves itself out.
        Assert.DoesNotContain("pids", Ok("-j", "show", "id", $"{map.Id}").Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_verdicts_say_met_or_by_how_much_a_target_is_missed()
    {
        Assert.Equal("ratio: x: 1.10x (target <= 1.15x: met); CPU time 1.00x", BenchCommand.AtMost("x", 1.10, 1.15, 1.0));
        Assert.Equal("ratio: x: 1.38x (target <= 1.15x: short by 20%); CPU time 1.17x", BenchCommand.AtMost("x", 1.38, 1.15, 1.17));
        Assert.Equal("ratio: y: 8.0x (target >= 7x: met); CPU time 9.0x", BenchCommand.AtLeast("y", 8, 7, 9));
        Assert.Equal("ratio: y: 5.0x (target >= 7x: short by 40%); CPU time 7.2x", BenchCommand.AtLeast("y", 5, 7, 7.2));
    }

    [Fact]
    public void Bench_startup_times_show_beside_bpftool()
    {
        Kernel.RequireBpffs();
        Kernel.Bpftool();
        RunResult r = Cli.Run("bench", "--runs", "1", "--scenario", "startup");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Matches(@"Start-up: show with \d+ maps on the machine, median of 7", r.Stdout);
        Assert.Matches(@"bpftool map show +[\d.]+ ms", r.Stdout);
        Assert.Contains("startup: AOT bpfmap show: not timed", r.Stdout);
    }

    [Fact]
    public void Bench_lookup_says_how_much_cheaper_an_engine_lookup_is_than_a_syscall()
    {
        Kernel.Require();
        RunResult r = Cli.Run("bench", "--runs", "1", "--scenario", "lookup");
        Assert.True(r.Exit == 0, r.Stderr);
        foreach (string keys in new[] { "100,000 scattered keys", "1,024 keys \\(cached\\)" })
        {
            Match m = Regex.Match(r.Stdout, keys + @" +in-process engine +([\d.]+) ns, kernel \(bpf syscall\) +([\d.]+) ns: the engine is (\d+)x cheaper");
            Assert.True(m.Success, r.Stdout);
            double engine = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            double kernel = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.True(engine > 0 && kernel > engine, r.Stdout);
            // The times are printed rounded to 0.1 ns, the ratio from the unrounded ones.
            Assert.InRange(int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), (kernel / engine) - 1, (kernel / engine) + 1);
        }
    }

    [Fact]
    public void Bench_with_btf_dumps_flows_and_compares_with_bpftool_and_the_c_loop()
    {
        Kernel.RequireBpffs();
        Kernel.Bpftool();
        RunResult r = Cli.Run("bench", "--entries", "3000", "--runs", "1", "--scenario", "btf");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("bench: filled a 3,000-entry hash map of flows with BTF", r.Stderr);
        Assert.Contains("JSON dump with BTF of a 3,000-entry hash map, key struct flow_key (16 B), value struct flow_stats (40 B)", r.Stdout);
        Assert.Contains("outputs identical", r.Stdout);
        Assert.DoesNotContain("hash map, u32 key", r.Stdout);
        if (!r.Stderr.Contains("no C loop", StringComparison.Ordinal))
        {
            Assert.Contains("the C loop's wall time", r.Stdout);
        }
    }

    [Fact]
    public void Input_errors_each_have_their_own_code_and_one_line()
    {
        Kernel.RequireBpffs();
        using var dir = new PinDir();
        string p = dir["e"];
        Ok("create", p, "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "cmd_err");
        Fails(ExitCode.MapNotFound, "no map with id 4294967295", "dump", "id", "4294967295");
        Fails(ExitCode.MapNotFound, "nothing is pinned at", "dump", "pinned", dir["missing"]);
        Fails(ExitCode.MapNotFound, "no map named", "dump", "name", "no_such_map_x");
        Fails(ExitCode.BadSelector, "is not a map selector", "dump", "ids", "3");
        Fails(ExitCode.BadSelector, "not a positive integer", "lookup", "id", "x1", "key", "1");
        Fails(ExitCode.BadData, "is not a byte", "lookup", "pinned", p, "key", "1", "0", "0", "0x1g");
        Fails(ExitCode.BadData, "larger than a byte", "lookup", "pinned", p, "key", "1", "0", "0", "300");
        Fails(ExitCode.SizeMismatch, "key has 3 bytes but the map expects 4", "lookup", "pinned", p, "key", "1", "0", "0");
        Fails(ExitCode.SizeMismatch, "value has 5 bytes but the map expects 4", "update", "pinned", p, "key", "1", "0", "0", "0", "value", "1", "2", "3", "4", "5");
        Fails(ExitCode.UnknownType, "unknown map type 'hashmap'", "create", dir["t"], "type", "hashmap", "key", "4", "value", "4", "entries", "4", "name", "t");
        Fails(ExitCode.Usage, "missing name", "create", dir["t"], "type", "hash", "key", "4", "value", "4", "entries", "4");
        Fails(ExitCode.Usage, "Unrecognized", "dump", "--frobnicate");
        Fails(ExitCode.Usage, "expected 'key'", "lookup", "pinned", p, "value", "1");
        Fails(ExitCode.BadData, "not an even number of hex digits", "--key-prefix", "abc", "dump", "pinned", p);
        Fails(ExitCode.SizeMismatch, "--key-prefix has 5 bytes", "--key-prefix", "0102030405", "dump", "pinned", p);
        using BpfMap array = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 2, Name = "cmd_arr" });
        Fails(ExitCode.NotSupported, "cannot be deleted", "drain", "id", array.Id.ToString());
        Fails(ExitCode.KernelError, "something is already pinned there", "pin", "pinned", p, p);
    }
}
