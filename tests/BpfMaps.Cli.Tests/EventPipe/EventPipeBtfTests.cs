using BpfMaps.Cli.Errors;
using System.Text.Json.Nodes;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Cli.Tests.EventPipe;

/// <summary>
/// <c>event_pipe --type</c> on maps a BPF C object declares (compiled with clang-14, loaded with bpftool prog loadall):
/// the maps have no BTF, the program that writes them does, and the records are formatted by its <c>struct event</c>.
/// </summary>
[Collection(nameof(EventPipeTests))]
public sealed class EventPipeBtfTests : IDisposable
{
    private readonly PinDir _dir = new();
    private readonly string _packet;

    public EventPipeBtfTests()
    {
        if (CorpusCompiler.WhyUnavailable() is { } why)
        {
            Assert.Skip(why);
        }

        string bpftool = Kernel.Bpftool();
        string clang = ExternalTool.Which(CorpusCompiler.Clang)!;
        string multiarch = ExternalTool.Run(clang, ["-print-multiarch"]).Stdout.Trim();
        string obj = Path.Combine(Path.GetTempPath(), $"bpfmaps-events-{Environment.ProcessId}-{Guid.NewGuid():N}.bpf.o");
        ToolResult cc = ExternalTool.Run(clang, ["-g", "-O2", "-target", "bpf", "-Wall", "-Werror", "-I", $"/usr/include/{multiarch}",
            "-c", Path.Combine(AppContext.BaseDirectory, "EventPipe", "events.bpf.c"), "-o", obj]);
        Assert.True(cc.Succeeded, cc.Describe());
        try
        {
            ToolResult load = ExternalTool.Run(bpftool, ["prog", "loadall", obj, _dir["progs"], "pinmaps", _dir["maps"]]);
            Assert.True(load.Succeeded, load.Describe());
        }
        finally
        {
            File.Delete(obj);
        }

        _packet = Path.Combine(Path.GetTempPath(), $"bpfmaps-packet-{Environment.ProcessId}-{Guid.NewGuid():N}");
        File.WriteAllBytes(_packet, Programs.CounterProgram.CreatePacket());
    }

    private string Perf => Path.Combine(_dir["maps"], "perf_events");

    private string Ring => Path.Combine(_dir["maps"], "ring_events");

    public void Dispose()
    {
        File.Delete(_packet);
        _dir.Dispose();
    }

    /// <summary>Runs the program <paramref name="n"/> times on CPU 0 (bpftool prog run under taskset).</summary>
    private void Emit(int n)
    {
        ToolResult r = ExternalTool.Run("taskset", ["-c", "0", Kernel.Bpftool(), "prog", "run", "pinned", Path.Combine(_dir["progs"], "emit"), "data_in", _packet, "repeat", $"{n}"]);
        Assert.True(r.Succeeded, r.Describe());
    }

    private static void AssertEvent(JsonNode? formatted, int seq)
        => Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""{"cpu":0,"seq":{{seq}},"comm":"evt","value":{{1000 + seq}}}"""), formatted), formatted?.ToJsonString());

    [Fact]
    public void Ring_buffer_records_are_formatted_by_the_programs_struct_in_every_format()
    {
        Emit(3);
        RunResult json = Cli.Run("-j", "event_pipe", "pinned", Ring, "--type", "event", "--count", "3");
        Assert.True(json.Exit == 0, json.Stderr);
        JsonArray records = JsonNode.Parse(json.Stdout)!.AsArray();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(24, records[i]!["data"]!.AsArray().Count);
            AssertEvent(records[i]!["formatted"], i);
        }

        Emit(2);
        RunResult plain = Cli.Run("event_pipe", "pinned", Ring, "--type", "struct event", "--count", "2");
        Assert.True(plain.Exit == 0, plain.Stderr);
        Assert.Matches(@"^== @\d+\.\d{9} =====\n\{\n    ""cpu"": 0,\n    ""seq"": 3,\n    ""comm"": ""evt"",\n    ""value"": 1003\n\}\n== @", plain.Stdout);

        Emit(1);
        RunResult table = Cli.Run("--format", "table", "event_pipe", "pinned", Ring, "--type", "event", "--count", "1");
        Assert.True(table.Exit == 0, table.Stderr);
        string[] lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^TIME +SIZE +cpu +seq +comm +value +$", lines[0]);
        Assert.Matches(@"^\d+\.\d{9} +24 +0 +5 +evt +1005 +$", lines[1]);

        Emit(1);
        RunResult ndjson = Cli.Run("--format", "ndjson", "event_pipe", "pinned", Ring, "--type", "event", "--count", "1");
        Assert.True(ndjson.Exit == 0, ndjson.Stderr);
        AssertEvent(JsonNode.Parse(ndjson.Stdout)!["formatted"], 6);
    }

    [Fact]
    public async Task Perf_samples_are_formatted_too_despite_the_kernels_padding()
    {
        // The reader's events go into the map when it starts: run the program until a sample gets through.
        Task<RunResult> run = Task.Run(() => Cli.Run("-j", "event_pipe", "pinned", Perf, "--type", "event", "--count", "1"), TestContext.Current.CancellationToken);
        while (!run.IsCompleted)
        {
            Emit(1);
            await Task.WhenAny(run, Task.Delay(50, TestContext.Current.CancellationToken));
        }

        RunResult r = await run;
        Assert.True(r.Exit == 0, r.Stderr);
        JsonNode record = JsonNode.Parse(r.Stdout)!.AsArray().Single()!;
        Assert.Equal(28, record["data"]!.AsArray().Count);
        int seq = record["formatted"]!["seq"]!.GetValue<int>();
        AssertEvent(record["formatted"], seq);
    }

    [Fact]
    public void An_unknown_type_names_where_it_looked()
    {
        RunResult r = Cli.Fails(ExitCode.BadBtf, "--type nosuch: no such type in the BTF of program", "event_pipe", "pinned", Ring, "--type", "nosuch");
        Assert.Contains("'emit'", r.Stderr, StringComparison.Ordinal);
        Cli.Fails(ExitCode.BadBtf, "no such type", "event_pipe", "pinned", Ring, "--type", "union event");
    }
}
