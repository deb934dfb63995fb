using BpfMaps.Btf;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Cli.Errors;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Output;

/// <summary>Picks the <c>event_pipe</c> renderer for a format.</summary>
internal static class EventRenderers
{
    /// <summary>The renderer for <paramref name="format"/>.</summary>
    /// <param name="format">A resolved format (not <see cref="OutputFormat.Auto"/>).</param>
    /// <param name="console">The console.</param>
    /// <param name="pretty">bpftool's <c>-p</c> layout for JSON.</param>
    /// <param name="type">The BTF type to format records by (<c>--type</c>), or null for bytes.</param>
    /// <param name="perf">Records come from a perf buffer (they have a CPU and a slot).</param>
    /// <returns>The renderer.</returns>
    /// <exception cref="CliException">csv, which is not an event_pipe format (<see cref="ExitCode.Usage"/>).</exception>
    public static IEventRenderer Create(OutputFormat format, CliConsole console, bool pretty, BtfFormatter? type, bool perf) => format switch
    {
        OutputFormat.Json => new JsonEventRenderer(console.Stdout, pretty, type, lines: false),
        OutputFormat.Ndjson => new JsonEventRenderer(console.Stdout, pretty: false, type, lines: true),
        OutputFormat.Table => new TableEventRenderer(console.Stdout, console.Width ?? DetectWidth(console), type, perf),
        OutputFormat.Plain => new PlainEventRenderer(console.Stdout, type),
        _ => throw new CliException(ExitCode.Usage, $"event_pipe: --format {format.ToString().ToLowerInvariant()} is not an event_pipe format; use plain, table, json or ndjson"),
    };

    private static int DetectWidth(CliConsole console)
    {
        try
        {
            return console.StdoutIsTerminal && Console.WindowWidth > 0 ? Console.WindowWidth : 120;
        }
        catch (IOException)
        {
            return 120;
        }
    }

    /// <summary>Writes nanoseconds as bpftool does: seconds, a dot and nine digits.</summary>
    /// <param name="output">Where.</param>
    /// <param name="ns">Nanoseconds.</param>
    public static void WriteTime(Utf8Output output, ulong ns)
    {
        output.Number(ns / 1_000_000_000);
        output.Write((byte)'.');
        ulong frac = ns % 1_000_000_000;
        for (ulong d = 100_000_000; d > 1 && frac < d; d /= 10)
        {
            output.Write((byte)'0');
        }

        output.Number(frac);
    }
}
