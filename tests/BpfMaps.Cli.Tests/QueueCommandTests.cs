using System.Text.Json.Nodes;
using static BpfMaps.Cli.Tests.Cli;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary><c>peek</c>, <c>push</c>, <c>pop</c>, <c>enqueue</c> and <c>dequeue</c>: order, full and empty maps, wrong map types, exit codes.</summary>
public class QueueCommandTests
{
    private static RunResult Ok(params string[] args)
    {
        RunResult r = Cli.Run(args);
        Assert.True(r.Exit == 0, $"bpfmap {string.Join(' ', args)} failed ({r.Exit}): {r.Stderr}");
        return r;
    }

    private static BpfMap Create(MapType type, int maxEntries = 4, int keySize = 0)
    {
        Kernel.Require();
        return BpfMap.Create(new MapSpec { Type = type, KeySize = keySize, ValueSize = 4, MaxEntries = maxEntries, Name = "cli_" + type.KernelName()[..Math.Min(5, type.KernelName().Length)] });
    }

    private static string PopPlain(string command, string id) => Ok(command, "id", id).Stdout;

    [Fact]
    public void Queue_pops_in_push_order_and_enqueue_dequeue_are_the_same_commands()
    {
        using BpfMap q = Create(MapType.Queue);
        string id = q.Id.ToString();
        Assert.Equal("", Ok("push", "id", id, "value", "1", "0", "0", "0").Stdout);
        Assert.Equal("null\n", Ok("-j", "enqueue", "id", id, "value", "2", "0", "0", "0").Stdout);
        Ok("push", "id", id, "value", "hex", "03", "00", "00", "00", "any");
        Assert.Equal("value: 01 00 00 00\n", Ok("peek", "id", id).Stdout);
        Assert.Equal("value: 01 00 00 00\n", PopPlain("pop", id));
        Assert.Equal("value: 02 00 00 00\n", PopPlain("dequeue", id));
        Assert.Equal("{\"key\":[],\"value\":[\"0x03\",\"0x00\",\"0x00\",\"0x00\"]}\n", Ok("-j", "pop", "id", id).Stdout);
        Assert.False(q.TryPeek(new byte[4]), "three pushes, three pops");
    }

    [Fact]
    public void Stack_pops_the_newest_first()
    {
        using BpfMap s = Create(MapType.Stack);
        string id = s.Id.ToString();
        for (int i = 1; i <= 3; i++)
        {
            Ok("push", "id", id, "value", i.ToString(), "0", "0", "0");
        }

        Assert.Equal("value: 03 00 00 00\n", Ok("peek", "id", id).Stdout);
        Assert.Equal(["value: 03 00 00 00\n", "value: 02 00 00 00\n", "value: 01 00 00 00\n"], [PopPlain("pop", id), PopPlain("pop", id), PopPlain("pop", id)]);
    }

    [Theory]
    [InlineData("peek")]
    [InlineData("pop")]
    [InlineData("dequeue")]
    [InlineData("lookup")]
    public void Empty_queue_is_not_found_and_json_is_bpftools_null(string command)
    {
        using BpfMap q = Create(MapType.Queue);
        string id = q.Id.ToString();
        RunResult plain = Fails(ExitCode.KeyNotFound, $"queue map {id} is empty", command, "id", id);
        Assert.Equal("", plain.Stdout);
        RunResult json = Fails(ExitCode.KeyNotFound, "is empty", "-j", command, "id", id);
        Assert.Equal("null\n", json.Stdout);
    }

    [Fact]
    public void Full_queue_is_a_kernel_error_unless_exist_drops_the_oldest()
    {
        using BpfMap q = Create(MapType.Queue, maxEntries: 2);
        string id = q.Id.ToString();
        Ok("push", "id", id, "value", "1", "0", "0", "0");
        Ok("push", "id", id, "value", "2", "0", "0", "0");
        RunResult full = Fails(ExitCode.KernelError, "is full (2 entries)", "push", "id", id, "value", "3", "0", "0", "0");
        Assert.Contains("exist", full.Stderr);
        RunResult json = Fails(ExitCode.KernelError, "is full", "-j", "enqueue", "id", id, "value", "3", "0", "0", "0");
        Assert.Contains("is full", JsonNode.Parse(json.Stdout)!["error"]!.GetValue<string>());
        Ok("push", "id", id, "value", "3", "0", "0", "0", "exist");
        Assert.Equal("value: 02 00 00 00\n", PopPlain("pop", id));
        Assert.Equal("value: 03 00 00 00\n", PopPlain("pop", id));
    }

    [Theory]
    [InlineData("peek")]
    [InlineData("push")]
    [InlineData("pop")]
    [InlineData("enqueue")]
    [InlineData("dequeue")]
    public void Maps_with_keys_are_not_supported_with_one_line(string command)
    {
        using BpfMap h = Create(MapType.Hash, keySize: 4);
        string id = h.Id.ToString();
        string[] value = command is "push" or "enqueue" ? ["value", "1", "0", "0", "0"] : [];
        RunResult r = Fails(ExitCode.NotSupported, $"{command}: hash map {id} is not a", [command, "id", id, .. value]);
        Assert.Equal("", r.Stdout);
        RunResult j = Fails(ExitCode.NotSupported, "hash map", ["-j", command, "id", id, .. value]);
        Assert.Contains("is not a", JsonNode.Parse(j.Stdout)!["error"]!.GetValue<string>());
        Assert.Equal(0L, h.CountEntries());
    }

    [Fact]
    public void Enqueue_and_dequeue_are_for_queues_only()
    {
        using BpfMap s = Create(MapType.Stack);
        string id = s.Id.ToString();
        Fails(ExitCode.NotSupported, $"enqueue: stack map {id} is not a queue; use push", "enqueue", "id", id, "value", "1", "0", "0", "0");
        Fails(ExitCode.NotSupported, $"dequeue: stack map {id} is not a queue; use pop", "dequeue", "id", id);
        Assert.False(s.TryPeek(new byte[4]), "the refused enqueue pushed nothing");
    }

    [Fact]
    public void Push_flags_are_any_or_exist_and_values_must_fit()
    {
        using BpfMap q = Create(MapType.Queue);
        string id = q.Id.ToString();
        Fails(ExitCode.Usage, "not noexist", "push", "id", id, "value", "1", "0", "0", "0", "noexist");
        Fails(ExitCode.Usage, "expected 'value'", "push", "id", id, "1", "0", "0", "0");
        Fails(ExitCode.SizeMismatch, "value has 3 bytes but the map expects 4", "push", "id", id, "value", "1", "0", "0");
        Fails(ExitCode.SizeMismatch, "value has 5 bytes but the map expects 4", "push", "id", id, "value", "1", "0", "0", "0", "0");
        Fails(ExitCode.BadData, "", "push", "id", id, "value", "1", "0", "0", "0x1g");
        Fails(ExitCode.Usage, "unexpected argument 'key'", "pop", "id", id, "key");
        Assert.False(q.TryPeek(new byte[4]));
    }

    [Fact]
    public void Frozen_queue_says_frozen()
    {
        using BpfMap q = Create(MapType.Queue);
        q.Push(BitConverter.GetBytes(5u));
        q.Freeze();
        string id = q.Id.ToString();
        Fails(ExitCode.PermissionDenied, $"map {id} is frozen", "push", "id", id, "value", "1", "0", "0", "0");
        Fails(ExitCode.PermissionDenied, $"map {id} is frozen", "pop", "id", id);
        Assert.Equal("value: 05 00 00 00\n", Ok("peek", "id", id).Stdout);
    }

    [Fact]
    public void Bloom_filter_push_adds_and_peek_value_tests_membership()
    {
        Kernel.Require();
        using BpfMap b = Create(MapType.BloomFilter, maxEntries: 64);
        string id = b.Id.ToString();
        Fails(ExitCode.KeyNotFound, $"value 07 00 00 00 is not in bloom_filter map {id}", "peek", "id", id, "value", "7", "0", "0", "0");
        Assert.Equal("null\n", Fails(ExitCode.KeyNotFound, "is not in", "-j", "peek", "id", id, "value", "7", "0", "0", "0").Stdout);
        Ok("push", "id", id, "value", "7", "0", "0", "0");
        Assert.True(b.MayContain(BitConverter.GetBytes(7u)));
        Assert.Equal("value: 07 00 00 00\n", Ok("peek", "id", id, "value", "7", "0", "0", "0").Stdout);

        Fails(ExitCode.Usage, "test a value with peek MAP value VALUE", "peek", "id", id);
        Fails(ExitCode.Usage, "test a value with peek MAP value VALUE", "lookup", "id", id);
        Fails(ExitCode.Usage, "take no flags", "push", "id", id, "value", "7", "0", "0", "0", "exist");
        Fails(ExitCode.NotSupported, "cannot give values back (the kernel answers ENOTSUPP)", "pop", "id", id);
        Fails(ExitCode.NotSupported, "is not a queue", "dequeue", "id", id);
        Fails(ExitCode.NotSupported, "is not a queue", "enqueue", "id", id, "value", "7", "0", "0", "0");
    }

    [Fact]
    public void Completion_offers_value_and_the_push_flags()
    {
        Kernel.Require();
        using BpfMap q = Create(MapType.Queue);
        string Suggest(string line) => Cli.Run($"[suggest:{line.Length}]", line).Stdout;
        Assert.Contains("peek", Suggest("bpfmap pe"));
        Assert.Contains("dequeue", Suggest("bpfmap deq"));
        Assert.Contains(q.Id.ToString(), Suggest("bpfmap pop id "));
        string[] next = Suggest($"bpfmap push id {q.Id} ").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("value", next);
        Assert.DoesNotContain("key", next);
        string flags = Suggest($"bpfmap enqueue id {q.Id} value 1 0 0 0 ");
        Assert.Contains("exist", flags);
        Assert.DoesNotContain("noexist", flags);
    }
}
