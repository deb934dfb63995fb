using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Hosting;
using BpfMaps.Programs;
using BpfMaps.Measurements;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>demo, drain-race and watch --drain on a double-buffered counter map (BPF programs via test-run).</summary>
public class ProgramsTests
{
    private const string Reconciliation = @"^reconciliation after [\d.]+ s: produced [\d,]+ = drained [\d,]+ \+ remaining [\d,]+, 0 lost$";

    private static void RequirePrograms()
    {
        Kernel.Require();
        try
        {
            using var swap = SwapDrainMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 8 });
            using BpfProgram p = CounterProgram.Load(swap);
        }
        catch (BpfException e) when (e is not BpfVerifierException && e.Errno is Errno.EPERM or Errno.ENOSYS)
        {
            // Only a missing privilege skips: a verifier rejection or any other failure is a real failure.
            Assert.Skip($"BPF programs cannot be loaded here: {e.Message}");
        }
    }

    [Fact]
    public void Demo_runs_bpf_writers_and_loses_nothing()
    {
        RequirePrograms();
        RunResult r = Cli.Run("--format", "ndjson", "demo", "--seconds", "1");
        Assert.True(r.Exit == 0, r.Stderr);
        string[] lines = r.Stdout.TrimEnd().Split('\n');
        Assert.StartsWith("demo: kernel: double-buffered counter map", lines[0]);
        Assert.Matches(Reconciliation, lines[^1]);
        Assert.True(JsonNode.Parse(lines[1])!["tick"]!.GetValue<int>() == 1);
    }

    [Fact]
    public void Demo_in_process_says_so_and_loses_nothing()
    {
        RunResult r = Cli.Run("demo", "--seconds", "0.5", "--in-process");
        Assert.True(r.Exit == 0, r.Stderr);
        string[] lines = r.Stdout.TrimEnd().Split('\n');
        Assert.StartsWith("demo: in-process engine", lines[0]);
        Assert.Matches(Reconciliation, lines[^1]);
    }

    [Fact]
    public void Drain_race_reports_every_method_and_the_swap_drain_loses_nothing()
    {
        RequirePrograms();
        RunResult r = Cli.Run("--format", "json", "drain-race", "--seconds", "0.3");
        Assert.True(r.Exit == 0, r.Stderr);
        JsonArray rows = JsonNode.Parse(r.Stdout)!.AsArray();
        Assert.Equal(4, rows.Count);
        JsonNode swap = rows.Single(x => x!["method"]!.GetValue<string>() == "swap drain")!;
        Assert.Equal(0, swap["lost"]!.GetValue<long>());
        Assert.True(swap["produced"]!.GetValue<long>() > 0);
        foreach (JsonNode? row in rows)
        {
            Assert.Equal(row!["produced"]!.GetValue<long>(), row["drained"]!.GetValue<long>() + row["remaining"]!.GetValue<long>() + row["lost"]!.GetValue<long>());
        }
    }

    [Fact]
    public void Watch_drain_swap_drains_a_pinned_double_buffered_counter_map()
    {
        RequirePrograms();
        using var dir = new PinDir();
        using var swap = SwapDrainMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 64, Name = "watch_in" }, "watch_slots");
        swap.Pin(dir["slots"]);
        using (BpfProgram p = CounterProgram.Load(swap, new CounterProgramOptions { KeySource = CounterKeySource.PacketData, KeyCount = 8 }))
        {
            p.TestRun(CounterProgram.CreatePacket(3), repeat: 1000);
        }

        // bpfmap opens the pin as a second drainer; this process's SwapDrainMap no longer drains.
        RunResult r = Cli.Run("--format", "ndjson", "watch", "pinned", dir["slots"], "--drain", "--count", "1");
        Assert.True(r.Exit == 0, r.Stderr);
        JsonNode frame = JsonNode.Parse(r.Stdout)!;
        Assert.Equal(1000, frame["delta"]!.GetValue<double>());
        Assert.Equal("03000000", frame["top"]![0]!["key"]!.GetValue<string>());

        RunResult noDrain = Cli.Run("watch", "pinned", dir["slots"], "--count", "1");
        Assert.Equal((int)ExitCode.Usage, noDrain.Exit);
        Assert.Contains("use --drain", noDrain.Stderr);
    }

    [Fact]
    public void Drain_race_refuses_more_writers_than_four_per_cpu()
    {
        int most = DrainRaceCommand.MaxWriters;
        RunResult r = Cli.Fails(ExitCode.Usage, $"must be 1 to {most} (4 per CPU)", "drain-race", "--writers", (most + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", "0.2");
        Assert.Empty(r.Stdout);
    }

    [Fact]
    public void Drain_race_with_the_most_writers_keeps_to_its_duration()
    {
        RequirePrograms();
        // Four methods of 0.3 s each. Before the writers were stopped by the deadline itself, a starved
        // drainer let them run on for minutes; the bound here is generous, not a speed target.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        RunResult r = Cli.Run("--format", "ndjson", "drain-race", "--writers", DrainRaceCommand.MaxWriters.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", "0.3");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        JsonArray rows = JsonNode.Parse(r.Stdout)!.AsArray();
        Assert.Equal(4, rows.Count);
        foreach (JsonNode? row in rows)
        {
            Assert.True(row!["seconds"]!.GetValue<double>() < 5, row.ToJsonString());
        }
    }

    private static DrainRaceMethodResult Row(string name, long produced, long drained, long remaining)
        => new(DrainMethod.SwapDrain, name, produced, produced, drained, remaining, 10, 100, 0, TimeSpan.FromSeconds(2));

    [Fact]
    public void Drain_race_renderers_on_their_own()
    {
        var rows = new List<DrainRaceMethodResult> { Row("swap drain", 1000, 900, 100), Row("live", 1000, 900, 50) };
        Assert.Equal("live: produced 1000 drained 900 remaining 50 lost 50 (5%) drains/s 5 increments/s 500", DrainRaceRenderers.PlainLine(rows[1]));

        var ms = new MemoryStream();
        DrainRaceRenderers.Json(ms, rows);
        JsonArray a = JsonNode.Parse(Encoding.UTF8.GetString(ms.ToArray()))!.AsArray();
        Assert.Equal(50, a[1]!["lost"]!.GetValue<long>());

        var table = new MemoryStream();
        new CliConsole(table, new StringWriter(), false, false, 140).Out.Write(DrainRaceRenderers.Table("race", rows, 4));
        string t = Encoding.UTF8.GetString(table.ToArray());
        Assert.Contains("swap drain", t);
        Assert.Contains("2/4 methods done", t);
    }

    [Fact]
    public void Demo_without_bpf_privileges_falls_back_to_the_in_process_engine()
    {
        RunResult r = Cli.RunUnprivileged("demo", "--seconds", "0.5");
        Assert.True(r.Exit == 0, r.Stderr);
        string[] lines = r.Stdout.TrimEnd().Split('\n');
        Assert.StartsWith("demo: in-process engine (bpf() is not available here: EPERM", lines[0]);
        Assert.Matches(Reconciliation, lines[^1]);
    }
}
