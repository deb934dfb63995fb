using static BpfMaps.Cli.Tests.Cli;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>Bad inputs found in review: each gives one stderr line, its own exit code, and no stack trace.</summary>
public class BadInputTests
{
    [Fact]
    public void A_file_or_directory_that_is_not_a_pinned_map_is_not_found_not_permission_denied()
    {
        using var dir = new PinDir();
        Fails(ExitCode.MapNotFound, "/etc/passwd is not on a bpffs mount", "dump", "pinned", "/etc/passwd");
        Fails(ExitCode.MapNotFound, "/etc/passwd is not on a bpffs mount", "show", "pinned", "/etc/passwd");
        Fails(ExitCode.MapNotFound, "is a directory", "lookup", "pinned", dir.Path, "key", "1", "0", "0", "0");
        Fails(ExitCode.MapNotFound, "is a directory", "dump", "pinned", "/tmp");
    }

    [Fact]
    public void Path_errors_of_a_pinned_selector_are_not_found_with_their_reason()
    {
        Kernel.Require();
        Fails(ExitCode.MapNotFound, "a component of the path is not a directory", "show", "pinned", "/etc/hostname/");
        RunResult r = Fails(ExitCode.MapNotFound, "too long", "show", "pinned", "/sys/fs/bpf/" + new string('a', 300));
        Assert.DoesNotContain("errno 36", r.Stderr);
    }

    [Fact]
    public void Messages_say_what_the_cli_can_do()
    {
        Kernel.Require();
        using BpfMap array = BpfMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 2, Name = "bad_arr" });
        RunResult drain = Fails(ExitCode.NotSupported, "array elements cannot be deleted; read it with dump", "-j", "drain", "id", array.Id.ToString());
        Assert.DoesNotContain("ArrayDrain", drain.Stderr);
        Assert.DoesNotContain("[]", drain.Stdout);

        RunResult top = Fails(ExitCode.Usage, "--top 'abc' is not a whole number", "--top", "abc", "show");
        Assert.DoesNotContain("System.Int32", top.Stderr);
        RunResult format = Fails(ExitCode.Usage, "'--format'", "--format");
        Assert.DoesNotContain("Required command", format.Stderr);

        string[] many = ["update", "id", "1", "key", .. Enumerable.Repeat("0", 100_001)];
        Fails(ExitCode.Usage, "words on one command line: bpfmap takes at most 100,000", many);

        using var dir = new PinDir();
        Assert.Equal(0, Cli.Run("create", dir["q"], "type", "queue", "key", "0", "value", "4", "entries", "4", "name", "bad_q").Exit);
        Fails(ExitCode.Usage, "has no keys, so noexist means nothing", "update", "pinned", dir["q"], "value", "1", "0", "0", "0", "noexist");
    }

    [Fact]
    public void Pinning_outside_bpffs_says_so()
    {
        using var dir = new PinDir();
        string target = $"/tmp/bpfmap-test-pin-{Guid.NewGuid():N}";
        Fails(ExitCode.Usage, "is not on a bpffs mount", "create", target, "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "t");
        Cli.Run("create", dir["m"], "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "t");
        Fails(ExitCode.Usage, "is not on a bpffs mount", "pin", "pinned", dir["m"], target);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void An_empty_path_is_a_usage_error_not_a_size_mismatch()
    {
        using var dir = new PinDir();
        Cli.Run("create", dir["m"], "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "t");
        Fails(ExitCode.BadSelector, "'pinned' needs a path", "dump", "pinned", "");
        Fails(ExitCode.Usage, "FILE is empty", "pin", "pinned", dir["m"], "");
        Fails(ExitCode.Usage, "FILE is empty", "create", "", "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "t");
    }

    [Theory]
    [InlineData("--format", "xml")]
    [InlineData("--percpu", "median")]
    [InlineData("--sort", "size")]
    public void A_value_outside_a_choice_is_one_line(string option, string value)
    {
        RunResult r = Fails(ExitCode.Usage, $"'{value}' not recognized", option, value, "dump", "id", "1");
        Assert.DoesNotContain("\t", r.Stderr);
    }

    [Fact]
    public void A_parse_error_under_json_is_also_a_json_error_on_stdout()
    {
        RunResult r = Fails(ExitCode.Usage, "'abc'", "-j", "--top", "abc", "show");
        Assert.Contains("'abc'", System.Text.Json.Nodes.JsonNode.Parse(r.Stdout)!["error"]!.GetValue<string>());
    }

    [Fact]
    public void A_negative_top_is_a_usage_error()
        => Fails(ExitCode.Usage, "--top", "--top", "-1", "dump", "id", "1");

    [Theory]
    [InlineData("watch", "--interval", "NaN")]
    [InlineData("watch", "--interval", "Infinity")]
    [InlineData("watch", "--interval", "1e300")]
    [InlineData("watch", "--count", "-1")]
    [InlineData("demo", "--seconds", "NaN")]
    [InlineData("demo", "--seconds", "1e300")]
    [InlineData("drain-race", "--seconds", "NaN")]
    [InlineData("drain-race", "--seconds", "1e300")]
    public void Durations_and_counts_out_of_range_are_usage_errors(string command, string option, string value)
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = "bad_watch" });
        string[] args = command == "watch" ? [command, "id", m.Id.ToString(), option, value] : [command, option, value];
        RunResult r = Fails(ExitCode.Usage, option, args);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void The_longest_interval_named_in_the_error_is_not_itself_refused()
    {
        // The limit is 2147483.647 s; rounding it up printed "at most 2147484", a value that is refused.
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = "bad_watch" });
        Fails(ExitCode.Usage, "at most 2147483", "watch", "id", m.Id.ToString(), "--interval", "2147484");
    }

    [Theory]
    [InlineData(MapType.Queue)]
    [InlineData(MapType.Stack)]
    public void Dump_and_getnext_of_a_map_without_keys_are_not_supported_and_json_stays_valid(MapType type)
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = type, KeySize = 0, ValueSize = 4, MaxEntries = 4, Name = "bad_keyless" });
        string id = m.Id.ToString();
        Fails(ExitCode.NotSupported, "no keys", "dump", "id", id);
        Fails(ExitCode.NotSupported, "no keys", "drain", "id", id);
        Fails(ExitCode.NotSupported, "no keys", "getnext", "id", id);
        Fails(ExitCode.NotSupported, "no keys", "watch", "id", id, "--count", "1");
        RunResult j = Fails(ExitCode.NotSupported, "no keys", "-j", "dump", "id", id);
        Assert.Contains("no keys", System.Text.Json.Nodes.JsonNode.Parse(j.Stdout)!["error"]!.GetValue<string>());
    }

    [Fact]
    public void A_map_without_keys_takes_bpftools_grammar_without_the_key_word()
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Queue, KeySize = 0, ValueSize = 4, MaxEntries = 4, Name = "bad_queue" });
        string id = m.Id.ToString();
        RunResult u = Cli.Run("update", "id", id, "value", "7", "0", "0", "0");
        Assert.True(u.Exit == 0, u.Stderr);
        RunResult l = Cli.Run("-j", "lookup", "id", id);
        Assert.True(l.Exit == 0, l.Stderr);
        Assert.Equal("{\"key\":[],\"value\":[\"0x07\",\"0x00\",\"0x00\",\"0x00\"]}\n", l.Stdout);

        // The explicit empty key still works.
        Assert.Equal(0, Cli.Run("update", "id", id, "key", "value", "8", "0", "0", "0").Exit);
        Fails(ExitCode.Usage, "expected 'value'", "update", "id", id, "7", "0", "0", "0");
    }

    [Theory]
    [InlineData(MapType.Array, 4)]
    [InlineData(MapType.PerCpuArray, 4)]
    [InlineData(MapType.Queue, 0)]
    public void Delete_where_the_map_type_has_no_delete_is_not_supported(MapType type, int keySize)
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = type, KeySize = keySize, ValueSize = 4, MaxEntries = 4, Name = "bad_del" });
        string[] key = keySize == 0 ? [] : ["key", "1", "0", "0", "0"];
        RunResult r = Fails(ExitCode.NotSupported, "cannot be deleted", ["-j", "delete", "id", m.Id.ToString(), .. key]);
        Assert.Contains("cannot be deleted", System.Text.Json.Nodes.JsonNode.Parse(r.Stdout)!["error"]!.GetValue<string>());
    }

    [Fact]
    public void Writing_a_frozen_map_says_frozen_not_run_as_root()
    {
        using BpfMap m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "bad_frozen" });
        m.Update(BitConverter.GetBytes(1u), BitConverter.GetBytes(1u));
        string id = m.Id.ToString();
        Assert.Equal(0, Cli.Run("freeze", "id", id).Exit);
        RunResult u = Fails(ExitCode.PermissionDenied, $"map {id} is frozen", "update", "id", id, "key", "1", "0", "0", "0", "value", "2", "0", "0", "0");
        Assert.DoesNotContain("run as root", u.Stderr);
        Fails(ExitCode.PermissionDenied, $"map {id} is frozen", "delete", "id", id, "key", "1", "0", "0", "0");
        Fails(ExitCode.KernelError, $"map {id} is already frozen", "freeze", "id", id);
        Assert.Equal(1, m.CountEntries());
    }

    [Fact]
    public void Create_with_a_value_too_large_does_not_say_the_map_is_full()
    {
        using var dir = new PinDir();
        RunResult r = Fails(ExitCode.KernelError, "too large (E2BIG)", "create", dir["big"], "type", "hash", "key", "4", "value", "2000000000", "entries", "16", "name", "big");
        Assert.DoesNotContain("full", r.Stderr);
        Assert.False(File.Exists(dir["big"]));
    }

    [Fact]
    public void Create_flags_take_the_whole_u32_range()
    {
        using var dir = new PinDir();
        Fails(ExitCode.KernelError, "flags 0xffffffff", "create", dir["f"], "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "f", "flags", "0xffffffff");
        Fails(ExitCode.Usage, "flags '0x100000000'", "create", dir["f"], "type", "hash", "key", "4", "value", "4", "entries", "4", "name", "f", "flags", "0x100000000");
    }
}
