using System.Text;
using System.Text.Json.Nodes;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Output;

namespace BpfMaps.Cli.Tests;

/// <summary>A dump that fails half-way leaves well-formed output: bpftool closes its JSON array with the error as the last element.</summary>
public class DumpFailureTests
{
    /// <summary>The real map's backend, except that the second batch call fails with EFAULT. Does not own the map.</summary>
    private sealed class SecondBatchFails(IMapBackend inner) : DelegatingMapBackend(inner, ownsInner: false)
    {
        private int _batches;

        public override int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
            => ++_batches == 2 ? Errno.EFAULT : Inner.LookupBatch(andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);
    }

    private static (string Output, CliException Error) DumpFailing(Func<Stream, IEntryRenderer> renderer, int entries = 3 * DumpOptions.DefaultBatchSize)
    {
        Kernel.Require();
        using BpfMap real = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = entries, Name = "dumpfail_t" });
        BenchMaps.FillU64(real, entries);
        using var failing = new BpfMap(new SecondBatchFails(real.Backend));
        var ms = new MemoryStream();
        CliException e;
        using (IEntryRenderer r = renderer(ms))
        {
            e = Assert.Throws<CliException>(() => DumpPipeline.RunCore(failing, false, r, new EntryLayout(4, 8), new GlobalOptions(), null));
        }

        Assert.Equal(ExitCode.KernelError, e.Code);
        Assert.Contains("EFAULT", e.Message, StringComparison.Ordinal);
        return (Encoding.UTF8.GetString(ms.ToArray()), e);
    }

    [Fact]
    public void Json_dump_that_fails_is_a_closed_array_ending_with_the_error()
    {
        (string output, CliException e) = DumpFailing(ms => new JsonEntryRenderer(ms, new EntryLayout(4, 8), pretty: false));
        JsonArray entries = JsonNode.Parse(output)!.AsArray();
        Assert.True(entries.Count > 1, "the first batch's entries were written");
        Assert.All(entries.Take(entries.Count - 1), x => Assert.NotNull(x!["key"]));
        Assert.Equal(e.Message, (string?)entries[^1]!["error"]);
        Assert.True(e.JsonWritten, "the runner must not add a second error object after the array");
    }

    [Fact]
    public void Json_dump_that_reads_ahead_and_fails_ends_with_the_error_after_the_batches_before_it()
    {
        const int entries = 10 * DumpOptions.DefaultBatchSize;
        Assert.SkipUnless(Environment.ProcessorCount > 1, "read-ahead needs two CPUs");
        (string output, CliException e) = DumpFailing(ms => new JsonEntryRenderer(ms, new EntryLayout(4, 8), pretty: false), entries);
        JsonArray all = JsonNode.Parse(output)!.AsArray();
        Assert.Equal(e.Message, (string?)all[^1]!["error"]);
        Assert.InRange(all.Count - 1, 1, DumpOptions.DefaultBatchSize);
        Assert.All(all.Take(all.Count - 1), x => Assert.NotNull(x!["key"]));
    }

    [Fact]
    public void Ndjson_dump_that_fails_ends_with_an_error_line()
    {
        (string output, CliException e) = DumpFailing(ms => new NdjsonEntryRenderer(ms, new EntryLayout(4, 8)));
        string[] lines = output.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length > 1);
        Assert.All(lines[..^1], l => Assert.NotNull(JsonNode.Parse(l)!["key"]));
        Assert.Equal(e.Message, (string?)JsonNode.Parse(lines[^1])!["error"]);
        Assert.True(e.JsonWritten);
    }

    [Fact]
    public void Plain_dump_that_fails_keeps_its_entries_but_claims_no_count()
    {
        (string output, CliException e) = DumpFailing(ms => new PlainEntryRenderer(ms, new EntryLayout(4, 8)));
        Assert.Contains("key:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Found", output, StringComparison.Ordinal);
        Assert.False(e.JsonWritten);
    }

    [Fact]
    public void Json_drain_of_several_maps_that_cannot_all_be_drained_drains_none()
    {
        Kernel.Require();
        using var dir = new PinDir();
        string name = $"mmf{Environment.ProcessId % 100000}";
        Assert.Equal(0, Cli.Run("create", dir["h"], "type", "hash", "key", "4", "value", "8", "entries", "4", "name", name).Exit);
        Assert.Equal(0, Cli.Run("create", dir["a"], "type", "array", "key", "4", "value", "8", "entries", "2", "name", name).Exit);
        Assert.Equal(0, Cli.Run("update", "pinned", dir["h"], "key", "1", "0", "0", "0", "value", "1", "0", "0", "0", "0", "0", "0", "0").Exit);

        // The array cannot be drained: that is known before anything is read, so nothing is drained
        // from the hash either, and -j prints one error object.
        RunResult r = Cli.Run("-j", "drain", "name", name);
        Assert.Equal((int)ExitCode.NotSupported, r.Exit);
        Assert.Single(r.StderrLines);
        Assert.Contains("cannot be deleted", (string?)JsonNode.Parse(r.Stdout)!["error"], StringComparison.Ordinal);
        Assert.EndsWith("\n", r.Stdout, StringComparison.Ordinal);
        RunResult still = Cli.Run("-j", "dump", "pinned", dir["h"]);
        Assert.Single(JsonNode.Parse(still.Stdout)!.AsArray());

        // A --key-prefix longer than the keys is refused before any output: one error object, no array.
        RunResult p = Cli.Run("-j", "--key-prefix", "0102030405", "dump", "name", name);
        Assert.Equal((int)ExitCode.SizeMismatch, p.Exit);
        Assert.Contains("--key-prefix has 5 bytes", (string?)JsonNode.Parse(p.Stdout)!["error"], StringComparison.Ordinal);
    }
}
