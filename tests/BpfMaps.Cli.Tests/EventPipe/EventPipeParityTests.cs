using BpfMaps.Cli.Errors;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace BpfMaps.Cli.Tests.EventPipe;

/// <summary>
/// <c>bpfmap event_pipe</c> against the real <c>bpftool map event_pipe</c>, one after the other on the same perf event
/// array (a slot holds one reader's event, so they cannot read at once). Each tool runs as a child process; the test
/// waits until its events are in the map (the event program's runs are refused until then, without using a sequence
/// number), writes the same records on every CPU, stops the reader with SIGSTOP while one CPU overflows its ring
/// (16 pages for both tools) so both see the same lost count, then stops it with SIGINT (Ctrl+C). The state map is
/// reset between the tools, so both get the same sequence numbers. Compared: every record per CPU (type, CPU,
/// index, data), the lost reports, the text layout; timestamps and the 4 bytes of padding the kernel leaves
/// unwritten after each sample's data differ between runs and are masked.
/// </summary>
[Collection(nameof(EventPipeTests))]
public partial class EventPipeParityTests
{
    private const int PerCpu = 20;
    private const int Overflow = 3000;

    [GeneratedRegex(@"@\d+\.\d{9}")]
    private static partial Regex Time();

    private static string[] Bpfmap(params string[] args) => ["env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", "dotnet", Path.Combine(AppContext.BaseDirectory, "bpfmap.dll"), .. args];

    /// <summary>Runs a reader through the scenario and returns what it printed and its exit code.</summary>
    private static RunResult Read(EventProducer p, string[] command, bool overflow)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        using Process proc = Process.Start(psi)!;
        Task<string> stdout = proc.StandardOutput.ReadToEndAsync();
        Task<string> stderr = proc.StandardError.ReadToEndAsync();
        try
        {
            foreach (int cpu in EventProducer.Cpus)
            {
                p.WaitForReader(cpu);
            }

            // Let it read the probes, so every ring is empty when it stops.
            Thread.Sleep(500);
            if (overflow)
            {
                Signal(proc, "STOP");
                p.Produce(0, Overflow);
                Signal(proc, "CONT");

                // Until the reader has emptied the ring, CPU 0's next runs would be lost too.
                Thread.Sleep(1000);
            }

            foreach (int cpu in EventProducer.Cpus)
            {
                p.Produce(cpu, PerCpu - 1);
            }

            Thread.Sleep(1500);
            Signal(proc, "INT");
            Assert.True(proc.WaitForExit(30_000), $"{command[0]} did not stop on SIGINT");
            return new RunResult(proc.ExitCode, stdout.Result, stderr.Result);
        }
        finally
        {
            if (!proc.HasExited)
            {
                proc.Kill();
            }
        }
    }

    [Fact]
    public async Task Ctrl_c_stops_a_ring_buffer_pipe_with_every_record_printed_and_the_summary()
    {
        using var p = new EventProducer(MapType.RingBuf, name: "ctrlc_ring");
        string[] command = Bpfmap("event_pipe", "pinned", p.Pin);
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        using Process proc = Process.Start(psi)!;
        CancellationToken ct = TestContext.Current.CancellationToken;
        Task<string> stdout = proc.StandardOutput.ReadToEndAsync(ct);
        Task<string> stderr = proc.StandardError.ReadToEndAsync(ct);
        try
        {
            foreach (int cpu in EventProducer.Cpus)
            {
                p.Produce(cpu, 4);
            }

            // Until the reader has the records, then Ctrl+C.
            await Task.Delay(2000, ct);
            Signal(proc, "INT");
            Assert.True(proc.WaitForExit(30_000), "bpfmap did not stop on SIGINT");
            string output = await stdout, errors = await stderr;
            Assert.True(proc.ExitCode == (int)ExitCode.Interrupted, $"bpfmap exited {proc.ExitCode}: {errors}");
            List<PipeRecord> records = PipeRecords.ParsePlain(output);
            Assert.Equal(4 * EventProducer.Cpus.Count, records.Count);
            foreach (int cpu in EventProducer.Cpus)
            {
                Assert.Equal(4, records.Count(r => BitConverter.ToUInt32(r.Data) == cpu));
            }

            string summary = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"event_pipe: {records.Count} events, {records.Count * 24} bytes in ", summary);
            Assert.EndsWith($"from ringbuf map 'ctrlc_ring' (id {p.Id})", summary);
        }
        finally
        {
            if (!proc.HasExited)
            {
                proc.Kill();
            }
        }
    }

    private static void Signal(Process proc, string signal)
    {
        RunResult r = Proc.Run("kill", [$"-{signal}", $"{proc.Id}"]);
        Assert.True(r.Exit == 0, r.Stderr);
    }

    /// <summary>Both tools' output for the same scenario, bpftool's first.</summary>
    private static (RunResult Bpftool, RunResult Bpfmap, EventProducer Producer) Both(bool overflow, params string[] options)
    {
        string bpftool = Kernel.Bpftool();
        var p = new EventProducer(MapType.PerfEventArray, name: "parity_pipe");
        RunResult theirs = Read(p, [bpftool, .. options, "map", "event_pipe", "pinned", p.Pin], overflow);
        p.Reset();
        RunResult ours = Read(p, Bpfmap([.. options, "event_pipe", "pinned", p.Pin]), overflow);
        Assert.True(theirs.Exit == 0, $"bpftool: {theirs.Stderr}");
        Assert.True(ours.Exit == (int)ExitCode.Interrupted, $"bpfmap exited {ours.Exit}: {ours.Stderr}");
        return (theirs, ours, p);
    }

    // Per CPU, in order: what both readers must agree on (the padding after the 24 bytes each sample carries is unwritten memory).
    private static Dictionary<int, List<string>> ByCpu(IEnumerable<PipeRecord> records, int cpuOfLost)
        => records.Select(r => r.Lost ? r with { Cpu = r.Cpu < 0 ? cpuOfLost : r.Cpu } : r)
            .GroupBy(r => r.Cpu).ToDictionary(g => g.Key, g => g.Select(r => r.Comparable(24)).ToList());

    private static void AssertSameRecords(List<PipeRecord> theirs, List<PipeRecord> ours, EventProducer p, bool overflow)
    {
        Dictionary<int, List<string>> a = ByCpu(theirs, 0), b = ByCpu(ours, 0);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (int cpu in a.Keys)
        {
            Assert.Equal(a[cpu], b[cpu]);
        }

        // And they are the records written: sequence 0 (the probe) to the last, each whole.
        foreach (int cpu in EventProducer.Cpus)
        {
            var samples = ours.Where(r => !r.Lost && r.Cpu == cpu).ToList();
            Assert.True(samples.Count >= PerCpu, $"CPU {cpu}: {samples.Count} samples");
            for (int i = 0; i < samples.Count; i++)
            {
                Assert.Equal(Convert.ToHexString(p.Record(cpu, (ulong)i)), Convert.ToHexString(samples[i].Data.AsSpan(0, 24)));
            }
        }

        if (overflow)
        {
            PipeRecord lost = Assert.Single(ours, r => r.Lost);
            Assert.True(lost.Count > 0);
            Assert.Equal(lost.Count, Assert.Single(theirs, r => r.Lost).Count);
        }
    }

    [Fact]
    public void Plain_text_matches_bpftool_line_for_line()
    {
        (RunResult theirs, RunResult ours, EventProducer p) = Both(overflow: true);
        using (p)
        {
            List<PipeRecord> a = PipeRecords.ParsePlain(theirs.Stdout), b = PipeRecords.ParsePlain(ours.Stdout);
            AssertSameRecords(a, b, p, overflow: true);

            // The text itself, record by record, with the time and the padding masked.
            Assert.Equal(Blocks(theirs.Stdout), Blocks(ours.Stdout));

            // bpfmap's summary: the per-CPU lines add up to what it printed; bpftool says only that it stops.
            Assert.Contains("Stopping...", theirs.Stderr, StringComparison.Ordinal);
            string[] summary = ours.StderrLines;
            int events = b.Count(r => !r.Lost);
            Assert.StartsWith($"event_pipe: {events} events, {events * 28} bytes, {b.Single(r => r.Lost).Count} lost in ", summary[0]);
            Assert.Equal(1 + EventProducer.Cpus.Count, summary.Length);
        }
    }

    [Fact]
    public void Json_parses_to_the_same_objects_as_bpftools()
    {
        (RunResult theirs, RunResult ours, EventProducer p) = Both(overflow: true, "-j");
        using (p)
        {
            AssertSameRecords(PipeRecords.ParseJson(theirs.Stdout), PipeRecords.ParseJson(ours.Stdout), p, overflow: true);

            // Same members in the same order, object by object (per CPU).
            Assert.Equal(Shapes(theirs.Stdout), Shapes(ours.Stdout));
        }
    }

    [Fact]
    public void Pretty_json_has_bpftools_layout()
    {
        (RunResult theirs, RunResult ours, EventProducer p) = Both(overflow: false, "-p");
        using (p)
        {
            AssertSameRecords(PipeRecords.ParseJson(theirs.Stdout), PipeRecords.ParseJson(ours.Stdout), p, overflow: false);

            // Every sample prints the same shape, so without the digits the two documents are the same text.
            Assert.Equal(Regex.Replace(theirs.Stdout, "[0-9]", ""), Regex.Replace(ours.Stdout, "[0-9]", ""));
        }
    }

    // Each record's text (header with the time masked, hex with the last 4 bytes masked), grouped by CPU in order.
    private static List<string> Blocks(string text)
    {
        var blocks = new List<(int Cpu, string Text)>();
        foreach (string block in Regex.Split(text, "(?m)^(?=== @|lost )"))
        {
            if (block.Length == 0)
            {
                continue;
            }

            Match m = Regex.Match(block, @"CPU: (\d+)");
            string masked = Time().Replace(block, "@T");
            if (m.Success)
            {
                // "xx xx xx xx\n" at the end: the unwritten padding.
                masked = masked[..^12] + "?? ?? ?? ??\n";
            }

            blocks.Add((m.Success ? int.Parse(m.Groups[1].Value) : -1, masked));
        }

        // A lost report is written with the sample after it, into the same ring: it belongs to that sample's CPU.
        for (int i = blocks.Count - 2; i >= 0; i--)
        {
            if (blocks[i].Cpu < 0)
            {
                blocks[i] = (blocks[i + 1].Cpu, blocks[i].Text);
            }
        }

        return blocks.OrderBy(b => b.Cpu).Select(b => b.Text).ToList();
    }

    private static List<string> Shapes(string json)
        => JsonNode.Parse(json)!.AsArray()
            .Select(o => o!.AsObject())
            .OrderBy(o => o["cpu"]!.GetValue<int>())
            .Select(o => string.Join(",", o.Select(kv => kv.Value is JsonObject inner ? $"{kv.Key}{{{string.Join(",", inner.Select(i => i.Key))}}}" : kv.Key)))
            .ToList();
}
