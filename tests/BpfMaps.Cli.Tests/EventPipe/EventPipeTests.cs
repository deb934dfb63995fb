using BpfMaps.Cli.Errors;
using System.Diagnostics;
using System.Text;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Cli.Hosting;
using BpfMaps.Events;
using BpfMaps.Programs;

namespace BpfMaps.Cli.Tests.EventPipe;

/// <summary>
/// <c>bpfmap event_pipe</c> in this process against maps the event program writes: every format, both map kinds,
/// <c>cpu N index M</c>, <c>--count</c>, <c>--seconds</c>, the summary, and bad input.
/// </summary>
[Collection(nameof(EventPipeTests))]
public class EventPipeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Starts bpfmap, waits until its rings are in the map, runs <paramref name="perCpu"/> records on each CPU (the probe that found the reader is the first) and returns what it printed.</summary>
    internal static async Task<RunResult> PipePerf(EventProducer p, int perCpu, params string[] args)
    {
        Task<RunResult> run = Task.Run(() => Cli.Run(args), TestContext.Current.CancellationToken);
        foreach (int cpu in EventProducer.Cpus)
        {
            p.WaitForReader(cpu);
            p.Produce(cpu, perCpu - 1);
        }

        return await run.WaitAsync(Patience, TestContext.Current.CancellationToken);
    }

    private static void AssertRecords(EventProducer p, IReadOnlyList<PipeRecord> records, int perCpu, bool perf = true)
    {
        Assert.Equal(EventProducer.Cpus.Count * perCpu, records.Count);
        foreach (int cpu in EventProducer.Cpus)
        {
            var mine = records.Where(r => perf ? r.Cpu == cpu : BitConverter.ToUInt32(r.Data) == cpu).ToList();
            Assert.Equal(perCpu, mine.Count);
            for (int seq = 0; seq < perCpu; seq++)
            {
                byte[] expected = p.Record(cpu, (ulong)seq);
                Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(mine[seq].Data.AsSpan(0, expected.Length)));
                Assert.Equal(perf ? expected.Length + 4 : expected.Length, mine[seq].Data.Length);
                Assert.Equal(perf ? cpu : -1, mine[seq].Index);
            }

            Assert.True(mine.Zip(mine.Skip(1)).All(x => x.First.Time <= x.Second.Time), $"CPU {cpu}: timestamps go backwards");
        }
    }

    [Fact]
    public async Task Perf_plain_prints_bpftools_lines_and_a_summary_per_CPU()
    {
        using var p = new EventProducer(MapType.PerfEventArray);
        int n = 5, total = n * EventProducer.Cpus.Count;
        RunResult r = await PipePerf(p, n, "event_pipe", "pinned", p.Pin, "--count", $"{total}");
        Assert.True(r.Exit == 0, r.Stderr);
        AssertRecords(p, PipeRecords.ParsePlain(r.Stdout), n);
        string[] summary = r.StderrLines;
        Assert.StartsWith($"event_pipe: {total} events, {total * 28} bytes, 0 lost in ", summary[0]);
        Assert.EndsWith($"from perf_event_array map 'pipe_events' (id {p.Id})", summary[0]);
        foreach (int cpu in EventProducer.Cpus)
        {
            Assert.Contains($"  CPU {cpu} index {cpu}: {n} events, {n * 28} bytes, 0 lost", summary);
        }
    }

    [Theory]
    [InlineData("-j")]
    [InlineData("-p")]
    [InlineData("--format", "ndjson")]
    public async Task Perf_json_and_ndjson_carry_every_record(params string[] format)
    {
        using var p = new EventProducer(MapType.PerfEventArray, recordSize: 40);
        int n = 4, total = n * EventProducer.Cpus.Count;
        RunResult r = await PipePerf(p, n, [.. format, "event_pipe", "id", $"{p.Id}", "--count", $"{total}"]);
        Assert.True(r.Exit == 0, r.Stderr);
        List<PipeRecord> records = format[0] == "--format" ? PipeRecords.ParseNdjson(r.Stdout) : PipeRecords.ParseJson(r.Stdout);
        AssertRecords(p, records, n);
        if (format[0] == "--format")
        {
            Assert.Equal(total, r.Stdout.Count(c => c == '\n'));
        }
    }

    [Fact]
    public async Task Perf_table_has_a_row_per_record()
    {
        using var p = new EventProducer(MapType.PerfEventArray);
        int n = 3, total = n * EventProducer.Cpus.Count;
        RunResult r = await PipePerf(p, n, "--format", "table", "event_pipe", "pinned", p.Pin, "--count", $"{total}");
        Assert.True(r.Exit == 0, r.Stderr);
        string[] lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^TIME +CPU +INDEX +SIZE +DATA$", lines[0]);
        Assert.Equal(total, lines.Length - 1);
        Assert.All(lines.Skip(1), l => Assert.Matches(@"^\d+\.\d{9} +\d+ +\d+ +28 +[0-9a-f]{2}( [0-9a-f]{2})*( …)?$", l));
        Assert.Contains(lines, l => l.Contains(" 18 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cpu_and_index_read_one_ring()
    {
        using var p = new EventProducer(MapType.PerfEventArray);
        int cpu = EventProducer.Cpus[^1];
        Task<RunResult> run = Task.Run(() => Cli.Run("-j", "event_pipe", "pinned", p.Pin, "cpu", $"{cpu}", "index", $"{cpu}", "--count", "3"), TestContext.Current.CancellationToken);
        p.WaitForReader(cpu);
        p.Produce(cpu, 2);
        RunResult r = await run.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.True(r.Exit == 0, r.Stderr);
        List<PipeRecord> records = PipeRecords.ParseJson(r.Stdout);
        Assert.Equal(3, records.Count);
        Assert.All(records, x => Assert.Equal((cpu, cpu), (x.Cpu, x.Index)));
        Assert.Equal(2, r.StderrLines.Length);
        Assert.Equal($"  CPU {cpu} index {cpu}: 3 events, 84 bytes, 0 lost", r.StderrLines[1]);
    }

    [Fact]
    public void Ring_buffer_records_pipe_too_in_every_format()
    {
        using var p = new EventProducer(MapType.RingBuf);
        foreach (int cpu in EventProducer.Cpus)
        {
            p.Produce(cpu, 3);
        }

        int total = 3 * EventProducer.Cpus.Count;
        RunResult plain = Cli.Run("event_pipe", "pinned", p.Pin, "--count", $"{total}");
        Assert.True(plain.Exit == 0, plain.Stderr);
        AssertRecords(p, PipeRecords.ParsePlain(plain.Stdout), 3, perf: false);
        Assert.StartsWith($"event_pipe: {total} events, {total * 24} bytes in ", Assert.Single(plain.StderrLines));
        Assert.EndsWith($"from ringbuf map 'pipe_events' (id {p.Id})", plain.StderrLines[0]);

        // The ring was drained by the first reader: these records are new.
        p.Reset();
        foreach (int cpu in EventProducer.Cpus)
        {
            p.Produce(cpu, 2);
        }

        RunResult json = Cli.Run("-j", "event_pipe", "pinned", p.Pin, "--count", $"{2 * EventProducer.Cpus.Count}");
        Assert.True(json.Exit == 0, json.Stderr);
        List<PipeRecord> records = PipeRecords.ParseJson(json.Stdout);
        Assert.Equal(2 * EventProducer.Cpus.Count, records.Count);
        Assert.All(records, x => Assert.Equal((-1, -1, 24), (x.Cpu, x.Index, x.Data.Length)));
        Assert.DoesNotContain("\"cpu\"", json.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Seconds_ends_a_quiet_pipe_with_a_summary_and_valid_json()
    {
        using var p = new EventProducer(MapType.PerfEventArray);
        var sw = Stopwatch.StartNew();
        RunResult r = Cli.Run("-j", "event_pipe", "pinned", p.Pin, "--seconds", "0.5");
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(0.45), $"stopped after {sw.Elapsed}");
        Assert.Equal("[]\n", r.Stdout);
        Assert.StartsWith("event_pipe: 0 events, 0 bytes, 0 lost in 0.", r.StderrLines[0]);
        Assert.Equal(1 + EventProducer.Cpus.Count, r.StderrLines.Length);
    }

    [Fact]
    public async Task Lost_samples_are_printed_and_counted()
    {
        using var p = new EventProducer(MapType.PerfEventArray);

        // One page: a 28-byte sample with its timestamp takes 48 bytes, and the kernel keeps one byte free, so 85 fit;
        // the reader (CPU 0 only) does not read until the producer is done; then one more sample brings the lost
        // report out.
        const int Fit = 4095 / 48;
        var sink = new StringWriter();
        var stdout = new MemoryStream();
        var console = new CliConsole(stdout, sink, false, false, width: 140);
        var gate = new ManualResetEventSlim();
        Task<int> run = Task.Run(() => CommandRunner.Execute(console, () => new GlobalOptions(), o =>
            new EventPipeCommand(console, o, t => new GatedStream(t, gate)).Run(["pinned", p.Pin, "cpu", "0", "index", "0"], new EventPipeSettings(Fit + 1, 0, null, Pages: 1))), TestContext.Current.CancellationToken);
        p.WaitForReader(0);
        ulong probes = p.Counters(0).Dropped; // runs before the reader's event was in the slot: refused, never lost
        p.Produce(0, 500);
        EventProducerCounters c = p.Counters(0) with { Dropped = p.Counters(0).Dropped - probes };
        Assert.Equal((ulong)Fit, c.Accepted);
        gate.Set();
        await Task.Delay(200, TestContext.Current.CancellationToken);
        p.Produce(0, 1);
        Assert.Equal(0, await run.WaitAsync(Patience, TestContext.Current.CancellationToken));
        List<PipeRecord> records = PipeRecords.ParsePlain(Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal(Fit + 1, records.Count(x => !x.Lost));
        Assert.Equal([c.Dropped], records.Where(x => x.Lost).Select(x => x.Count));
        Assert.Contains($"  CPU 0 index 0: {Fit + 1} events, {(Fit + 1) * 28} bytes, {c.Dropped} lost", sink.ToString().Split('\n'));
    }

    [Fact]
    public async Task A_ring_that_is_gone_while_reading_is_one_line_after_the_summary_and_its_own_exit_code()
    {
        using var p = new EventProducer(MapType.PerfEventArray);
        var stderr = new StringWriter();
        var stdout = new MemoryStream();
        var console = new CliConsole(stdout, stderr, false, false, width: 140);
        Task<int> run = Task.Run(() => CommandRunner.Execute(console, () => new GlobalOptions { Json = true }, o =>
            new EventPipeCommand(console, o, t => new GoneAfterStream(t, 3)).Run(["pinned", p.Pin], new EventPipeSettings(0, 0, null))), TestContext.Current.CancellationToken);
        foreach (int cpu in EventProducer.Cpus)
        {
            p.WaitForReader(cpu);
        }

        p.Produce(0, 5);
        Assert.Equal((int)ExitCode.EventsGone, await run.WaitAsync(Patience, TestContext.Current.CancellationToken));
        string[] lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("event_pipe: ", lines[0]);
        Assert.Equal("bpfmap: event_pipe: the test took the ring of CPU 0 away", lines[^1]);
        Assert.DoesNotContain(lines, l => l.Contains("   at ", StringComparison.Ordinal));

        // What was printed before is a closed JSON array.
        Assert.NotEmpty(PipeRecords.ParseJson(Encoding.UTF8.GetString(stdout.ToArray())));
    }

    [Fact]
    public void Bad_input_is_one_line_and_its_exit_code()
    {
        using var perf = new EventProducer(MapType.PerfEventArray);
        using var ring = new EventProducer(MapType.RingBuf, name: "pipe_ring");
        using BpfMap hash = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "pipe_hash" });
        using BpfMap user = BpfMap.Create(new MapSpec { Type = MapType.UserRingBuf, KeySize = 0, ValueSize = 0, MaxEntries = 4096, Name = "pipe_user" });
        string cpus = $"{PossibleCpus.Count}";

        Cli.Fails(ExitCode.NotSupported, $"hash map {hash.Id} is not a perf event array or a ring buffer", "event_pipe", "id", $"{hash.Id}");
        Cli.Fails(ExitCode.NotSupported, "nothing to read", "event_pipe", "id", $"{user.Id}");
        Cli.Fails(ExitCode.Usage, $"CPU {cpus} is out of range: this machine has {cpus} possible CPU", "event_pipe", "pinned", perf.Pin, "cpu", cpus, "index", "0");
        Cli.Fails(ExitCode.Usage, $"index {cpus} is out of range", "event_pipe", "pinned", perf.Pin, "cpu", "0", "index", cpus);
        Cli.Fails(ExitCode.Usage, "cpu and index must be specified together", "event_pipe", "pinned", perf.Pin, "cpu", "0");
        Cli.Fails(ExitCode.Usage, "can't parse x as CPU ID", "event_pipe", "pinned", perf.Pin, "cpu", "x", "index", "0");
        Cli.Fails(ExitCode.Usage, "unexpected argument 'key'", "event_pipe", "pinned", perf.Pin, "key", "1");
        Cli.Fails(ExitCode.Usage, "cpu and index choose a perf event array's ring", "event_pipe", "pinned", ring.Pin, "cpu", "0", "index", "0");
        Cli.Fails(ExitCode.Usage, "--count -1", "event_pipe", "pinned", perf.Pin, "--count", "-1");
        Cli.Fails(ExitCode.Usage, "--seconds -1", "event_pipe", "pinned", perf.Pin, "--seconds", "-1");
        Cli.Fails(ExitCode.Usage, "--pages 3", "event_pipe", "pinned", perf.Pin, "--pages", "3");
        Cli.Fails(ExitCode.Usage, "csv is not an event_pipe format", "--format", "csv", "event_pipe", "pinned", perf.Pin);
        Cli.Fails(ExitCode.BadBtf, $"perf_event_array map {perf.Id} has no BTF", "event_pipe", "pinned", perf.Pin, "--type", "event");
        Cli.Fails(ExitCode.MapNotFound, "no map with id 4294967295", "event_pipe", "id", "4294967295");
        Cli.Fails(ExitCode.BadSelector, "expected a map", "event_pipe");
    }

    [Fact]
    public void Completion_offers_cpu_and_index_after_the_map()
    {
        using var p = new EventProducer(MapType.PerfEventArray);
        Assert.Equal(["cpu", "index"], Input.Completions.ForWords("event_pipe", ["pinned", p.Pin], ""));
        Assert.Equal(["index"], Input.Completions.ForWords("event_pipe", ["pinned", p.Pin, "cpu", "0"], ""));
        Assert.Contains("0", Input.Completions.ForWords("event_pipe", ["pinned", p.Pin, "cpu"], ""));
    }

    /// <summary>Holds back the first poll until the test says so (the reader's rings exist but nothing is read).</summary>
    private sealed class GatedStream(EventPipeTarget target, ManualResetEventSlim gate) : IEventStream
    {
        private readonly IEventStream _inner = new PerfEventStream(PerfBuffer.Open(target.Map, new PerfBufferOptions { PagesPerCpu = target.Pages, Timestamps = true, Slots = target.Slot is { } s ? [s] : null }));

        public IReadOnlyList<PerfBufferSlot>? Slots => _inner.Slots;

        public int Poll(TimeSpan timeout, EventSink sink)
        {
            gate.Wait();
            return _inner.Poll(timeout, sink);
        }

        public void Wake() => _inner.Wake();

        public void Dispose() => _inner.Dispose();
    }

    /// <summary>Reads as the library does until <paramref name="after"/> records, then says the ring of CPU 0 is gone, as PerfBuffer does when the kernel hangs up an event.</summary>
    private sealed class GoneAfterStream(EventPipeTarget target, int after) : IEventStream
    {
        private readonly IEventStream _inner = new PerfEventStream(PerfBuffer.Open(target.Map, new PerfBufferOptions { Timestamps = true }));
        private int _read;

        public IReadOnlyList<PerfBufferSlot>? Slots => _inner.Slots;

        public int Poll(TimeSpan timeout, EventSink sink)
        {
            if (_read >= after)
            {
                throw new EventSourceGoneException("test", 0, "the test took the ring of CPU 0 away");
            }

            int n = _inner.Poll(timeout, sink);
            _read += n;
            return n;
        }

        public void Wake() => _inner.Wake();

        public void Dispose() => _inner.Dispose();
    }
}
