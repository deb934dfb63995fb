using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>The built bpfmap.dll as a child process: exit codes, one stderr line, completion.</summary>
public class ProcessTests
{
    [Fact]
    public void Without_privileges_every_map_command_says_permission_denied_in_one_line()
    {
        Kernel.RequireBpffs();
        using var dir = new PinDir();
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "proc_perm" });
        m.Pin(dir["p"]);
        foreach (string[] args in new[] { new[] { "show" }, ["dump", "id", m.Id.ToString()], ["lookup", "pinned", dir["p"], "key", "1", "0", "0", "0"], ["create", "/sys/fs/bpf/x", "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "x"] })
        {
            RunResult r = Cli.RunUnprivileged(args);
            Assert.True(r.Exit == (int)ExitCode.PermissionDenied, $"{string.Join(' ', args)}: exit {r.Exit}, {r.Stderr}");
            Assert.Single(r.StderrLines);
            Assert.Matches("^bpfmap: permission denied \\(BPF_[A-Z_]+\\): run as root", r.Stderr);
        }
    }

    /// <summary>Runs bpfmap under sh with <paramref name="redirect"/> applied to it (e.g. <c>&gt;&amp;-</c>).</summary>
    private static RunResult Redirected(string redirect, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "bpfmap.dll");
        string command = $"exec dotnet '{dll}' {string.Join(' ', args.Select(a => $"'{a}'"))} {redirect}";
        return Proc.Run("sh", ["-c", command]);
    }

    [Theory]
    [InlineData(">&-", "Bad file descriptor")]
    [InlineData(">/dev/full", "No space left on device")]
    public void An_output_that_cannot_be_written_is_one_line_and_its_own_exit_code(string redirect, string reason)
    {
        Kernel.Require();
        RunResult r = Redirected(redirect, "show");
        Assert.True(r.Exit == (int)ExitCode.OutputFailed, $"exit {r.Exit}: {r.Stderr}");
        Assert.Equal($"bpfmap: cannot write to standard output: {reason}", r.Stderr.TrimEnd('\n').Replace(" (is it closed?)", "", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void A_closed_stderr_does_not_crash_and_keeps_the_exit_code()
    {
        Kernel.Require();
        RunResult missing = Redirected("2>&-", "lookup", "id", "4294967295", "key", "1");
        Assert.Equal((int)ExitCode.MapNotFound, missing.Exit);
        RunResult both = Redirected(">&- 2>&-", "show");
        Assert.Equal((int)ExitCode.OutputFailed, both.Exit);
    }

    [Fact]
    public void Errors_in_a_real_process_have_no_stack_trace()
    {
        Kernel.Require();
        RunResult r = Cli.RunProcess(null, "lookup", "id", "4294967295", "key", "1");
        Assert.Equal((int)ExitCode.MapNotFound, r.Exit);
        Assert.Equal("bpfmap: no map with id 4294967295\n", r.Stderr);
        RunResult u = Cli.RunProcess(null, "frobnicate");
        Assert.Equal((int)ExitCode.Usage, u.Exit);
        Assert.Single(u.StderrLines);
    }

    [Fact]
    public void Json_dump_of_a_real_process_is_bpftools()
    {
        Kernel.RequireBpffs();
        using var dir = new PinDir();
        using (BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "proc_dump" }))
        {
            m.Update(BitConverter.GetBytes(1), BitConverter.GetBytes(2));
            m.Pin(dir["d"]);
        }

        RunResult r = Cli.RunProcess(null, "-j", "dump", "pinned", dir["d"]);
        Assert.Equal("""[{"key":["0x01","0x00","0x00","0x00"],"value":["0x02","0x00","0x00","0x00"]}]""" + "\n", r.Stdout);
    }

    [Fact]
    public void Completion_suggests_commands_and_live_map_ids_and_names()
    {
        Kernel.Require();
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "proc_compl" });
        string Suggest(string line) => Cli.Run($"[suggest:{line.Length}]", line).Stdout;
        Assert.Contains("drain", Suggest("bpfmap dr"));
        Assert.Contains("pinned", Suggest("bpfmap dump "));
        Assert.Contains(m.Id.ToString(), Suggest("bpfmap dump id "));
        Assert.Contains("proc_compl", Suggest("bpfmap lookup name proc_c"));
        Assert.Contains("key", Suggest($"bpfmap lookup id {m.Id} "));
        Assert.Contains("percpu_hash", Suggest("bpfmap create /sys/fs/bpf/x type percpu_h"));
        Assert.Contains("complete -o default -F _bpfmap_complete bpfmap", Cli.Run("completion", "bash").Stdout);
    }
}
