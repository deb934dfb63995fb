using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Tests;

/// <summary>What changes when stdout or stderr is a terminal: tables, the live watch, the progress bar.</summary>
public class TerminalTests
{
    private static (int Exit, string Stdout, string Stderr) Run(bool stdoutTerminal, bool stderrTerminal, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int exit = BpfmapCli.Run(args, new CliConsole(stdout, stderr, stdoutTerminal, stderrTerminal, width: 120));
        return (exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    [Fact]
    public void Progress_bar_goes_to_a_terminal_stderr_for_large_maps_while_stdout_is_redirected()
    {
        Kernel.Require();
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 200_000, Name = "term_big", Flags = MapFlags.NoPrealloc });
        m.Update(BitConverter.GetBytes(1), BitConverter.GetBytes(2UL));
        var (exit, stdout, stderr) = Run(false, true, "-j", "dump", "id", m.Id.ToString());
        Assert.Equal(0, exit);
        Assert.Single(JsonNode.Parse(stdout)!.AsArray());
        Assert.Contains("dumping term_big", stderr);

        var quiet = Run(false, false, "-j", "dump", "id", m.Id.ToString());
        Assert.Equal("", quiet.Stderr);
    }

    [Fact]
    public void A_terminal_stdout_gets_tables_and_a_live_watch()
    {
        Kernel.Require();
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16, Name = "term_w" });
        m.Update(BitConverter.GetBytes(4), BitConverter.GetBytes(9UL));
        var show = Run(true, false, "show", "id", m.Id.ToString());
        Assert.Contains("term_w", show.Stdout);
        Assert.Contains("╭", show.Stdout);
        var watch = Run(true, false, "watch", "id", m.Id.ToString(), "--interval", "0.05", "--count", "2");
        Assert.Equal(0, watch.Exit);
        Assert.Contains("rate/s", watch.Stdout);
        Assert.Contains("tick 2", watch.Stdout);
    }

    [Fact]
    public void Pretty_show_parses_like_bpftools()
    {
        Kernel.RequireBpffs();
        string bpftool = Kernel.Bpftool();
        using var dir = new PinDir();
        using (BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.LruHash, KeySize = 8, ValueSize = 16, MaxEntries = 32, Name = "term_p" }))
        {
            m.Pin(dir["p"]);
        }

        JsonNode? theirs = JsonNode.Parse(Proc.Run(bpftool, ["-p", "map", "show", "pinned", dir["p"]]).Stdout);
        JsonNode? ours = JsonNode.Parse(Cli.Run("-p", "show", "pinned", dir["p"]).Stdout);
        Assert.True(JsonNode.DeepEquals(theirs, ours), $"{theirs}\n{ours}");
    }
}
