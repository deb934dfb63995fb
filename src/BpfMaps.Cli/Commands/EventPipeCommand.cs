using System.Diagnostics;
using System.Globalization;
using System.Text;
using BpfMaps.Btf;
using BpfMaps.Cli.Errors;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Events;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;

namespace BpfMaps.Cli.Commands;

/// <summary>Settings of <c>event_pipe</c> beyond the MAP words.</summary>
/// <param name="Count">Stop after this many events (0: no limit).</param>
/// <param name="Seconds">Stop after this many seconds (0: no limit).</param>
/// <param name="Type">The BTF type to format records by, or null.</param>
/// <param name="Pages">Data pages per perf ring (bpftool uses 16).</param>
internal sealed record EventPipeSettings(long Count, double Seconds, string? Type, int Pages = EventPipeSettings.DefaultPages)
{
    /// <summary>bpftool's MMAP_PAGE_CNT.</summary>
    public const int DefaultPages = 16;
}

/// <summary>What <c>event_pipe</c> opens: the map, and for a perf event array the one ring <c>cpu N index M</c> asked for.</summary>
/// <param name="Map">The map.</param>
/// <param name="Slot">The chosen ring, or null for every online CPU.</param>
/// <param name="Pages">Data pages per perf ring.</param>
internal sealed record EventPipeTarget(BpfMap Map, PerfBufferSlot? Slot, int Pages);

/// <summary>
/// <c>event_pipe MAP [cpu N index M] [--count N] [--seconds S] [--type NAME]</c>: prints the records of a perf event
/// array (bpftool's <c>map event_pipe</c>, with its plain and <c>-j</c> output) or of a ring buffer as they arrive, until
/// Ctrl+C, <c>--count</c> or <c>--seconds</c>; then a summary on stderr (events, bytes, lost; per CPU for perf).
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options (format, -j, -p).</param>
/// <param name="open">Opens the reader (the seam tests use to make a ring go away); null for the library's readers.</param>
internal sealed class EventPipeCommand(CliConsole console, GlobalOptions options, Func<EventPipeTarget, IEventStream>? open = null)
{
    /// <summary>Runs the command.</summary>
    /// <param name="args">The MAP words and <c>cpu N index M</c>.</param>
    /// <param name="settings">The settings.</param>
    /// <returns><see cref="ExitCode.Ok"/> at <c>--count</c> or <c>--seconds</c>, <see cref="ExitCode.Interrupted"/> after Ctrl+C.</returns>
    public ExitCode Run(IReadOnlyList<string> args, EventPipeSettings settings)
    {
        if (settings.Count < 0)
        {
            throw new CliException(ExitCode.Usage, $"event_pipe: --count {settings.Count}: must be 0 (until Ctrl+C) or more");
        }

        if (settings.Seconds != 0)
        {
            Input.Seconds.Check(settings.Seconds, "event_pipe: --seconds");
        }

        if (settings.Pages <= 0 || (settings.Pages & (settings.Pages - 1)) != 0 || settings.Pages > 1 << 16)
        {
            throw new CliException(ExitCode.Usage, $"event_pipe: --pages {settings.Pages}: a power of two from 1 to 65536");
        }

        if (settings.Type is { } t && t.Trim().Length == 0)
        {
            throw new CliException(ExitCode.Usage, "event_pipe: --type needs a BTF type name, such as event or 'struct event'");
        }

        OutputFormat format = options.Resolve(console.StdoutIsTerminal);
        if (format == OutputFormat.Csv)
        {
            throw new CliException(ExitCode.Usage, "event_pipe: --format csv is not an event_pipe format; use plain, table, json or ndjson");
        }

        var words = new Words(args, "event_pipe");
        MapSelector selector = MapSelector.Read(words);
        (int cpu, int index) = ReadSlot(words);
        using BpfMap map = selector.OpenOne();
        bool perf = CheckType(map, cpu);
        PerfBufferSlot? slot = null;
        if (cpu >= 0)
        {
            if (cpu >= PossibleCpus.Count)
            {
                throw new CliException(ExitCode.Usage, $"event_pipe: CPU {cpu} is out of range: this machine has {PossibleCpus.Count} possible CPU{(PossibleCpus.Count == 1 ? "" : "s")} (0 to {PossibleCpus.Count - 1})");
            }

            if (index >= map.MaxEntries)
            {
                throw new CliException(ExitCode.Usage, $"event_pipe: index {index} is out of range: perf_event_array map {map.Id} has slots 0 to {map.MaxEntries - 1}");
            }

            slot = new PerfBufferSlot(cpu, index);
        }

        BtfFormatter? type = settings.Type is { } name ? RecordType.Resolve(map, name) : null;
        IEventRenderer renderer = EventRenderers.Create(format, console, options.Pretty, type, perf);
        string what = $"{map.Type.KernelName()} map '{map.Name}' (id {map.Id})";
        using IEventStream stream = (open ?? Open)(new EventPipeTarget(map, slot, settings.Pages));
        return Pipe(stream, renderer, settings, what);
    }

    private ExitCode Pipe(IEventStream stream, IEventRenderer renderer, EventPipeSettings settings, string what)
    {
        var sink = new EventSink(renderer, settings.Count, stream.Slots);
        using var interrupt = new Interrupt();
        using CancellationTokenRegistration wake = interrupt.Token.Register(stream.Wake);
        var clock = Stopwatch.StartNew();
        TimeSpan limit = settings.Seconds > 0 ? TimeSpan.FromSeconds(settings.Seconds) : Timeout.InfiniteTimeSpan;
        Exception? gone = null;
        renderer.Begin();
        try
        {
            while (!sink.Done && !interrupt.Token.IsCancellationRequested)
            {
                TimeSpan wait = Timeout.InfiniteTimeSpan;
                if (limit != Timeout.InfiniteTimeSpan)
                {
                    wait = limit - clock.Elapsed;
                    if (wait <= TimeSpan.Zero)
                    {
                        break;
                    }
                }

                stream.Poll(wait, sink);
                renderer.Flush();
            }
        }
        catch (EventSourceGoneException e)
        {
            gone = e;
        }
        finally
        {
            // What was printed stays well-formed: the JSON array is closed even when the reading ended badly.
            renderer.End();
        }

        WriteSummary(sink, stream.Slots, what, clock.Elapsed);
        if (gone is not null)
        {
            throw new CliException(ExitCode.EventsGone, $"event_pipe: {OneLine(gone.Message)}", jsonWritten: true);
        }

        return interrupt.Token.IsCancellationRequested ? ExitCode.Interrupted : ExitCode.Ok;
    }

    private static IEventStream Open(EventPipeTarget target)
    {
        if (target.Map.Type == MapType.RingBuf)
        {
            return new RingEventStream(RingBuffer.Open(target.Map));
        }

        var o = new PerfBufferOptions
        {
            PagesPerCpu = target.Pages,
            Timestamps = true,
            Slots = target.Slot is { } s ? [s] : null,
        };
        return new PerfEventStream(PerfBuffer.Open(target.Map, o));
    }

    // bpftool's words: cpu N and index M, in either order, both or neither.
    private static (int Cpu, int Index) ReadSlot(Words words)
    {
        int cpu = -1, index = -1;
        while (!words.AtEnd)
        {
            string keyword = words.Next("cpu or index");
            if (keyword is not ("cpu" or "index"))
            {
                throw new CliException(ExitCode.Usage, $"event_pipe: unexpected argument '{keyword}'; after the map come cpu N index M");
            }

            string value = words.Next($"{keyword} N");
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                throw new CliException(ExitCode.Usage, $"event_pipe: can't parse {value} as {(keyword == "cpu" ? "CPU ID" : "index")}");
            }

            if (keyword == "cpu")
            {
                cpu = n;
            }
            else
            {
                index = n;
            }
        }

        if ((cpu < 0) != (index < 0))
        {
            throw new CliException(ExitCode.Usage, "event_pipe: cpu and index must be specified together");
        }

        return (cpu, index);
    }

    // True for a perf event array, false for a ring buffer; anything else is refused.
    private static bool CheckType(BpfMap map, int cpu)
    {
        switch (map.Type)
        {
            case MapType.PerfEventArray:
                return true;
            case MapType.RingBuf when cpu >= 0:
                throw new CliException(ExitCode.Usage, $"event_pipe: cpu and index choose a perf event array's ring; ringbuf map {map.Id} has one ring for every CPU");
            case MapType.RingBuf:
                return false;
            case MapType.UserRingBuf:
                throw new CliException(ExitCode.NotSupported, $"event_pipe: user_ringbuf map {map.Id} carries records from user space to BPF programs: there is nothing to read from it");
            default:
                throw new CliException(ExitCode.NotSupported, $"event_pipe: {map.Type.KernelName()} map {map.Id} is not a perf event array or a ring buffer");
        }
    }

    private void WriteSummary(EventSink sink, IReadOnlyList<PerfBufferSlot>? slots, string what, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        EventCounts total = sink.Total;
        sb.Append(CultureInfo.InvariantCulture, $"event_pipe: {total.Events} events, {total.Bytes} bytes");
        if (slots is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $", {total.Lost} lost");
        }

        sb.Append(CultureInfo.InvariantCulture, $" in {elapsed.TotalSeconds:F1} s from {what}\n");
        if (slots is not null)
        {
            foreach (((int cpu, int index), EventCounts c) in sink.Rings.OrderBy(r => r.Key.Cpu).ThenBy(r => r.Key.Index))
            {
                sb.Append(CultureInfo.InvariantCulture, $"  CPU {cpu} index {index}: {c.Events} events, {c.Bytes} bytes, {c.Lost} lost\n");
            }
        }

        try
        {
            console.Stderr.Write(sb.ToString());
            console.Stderr.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // A closed standard error: the exit code still tells.
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
