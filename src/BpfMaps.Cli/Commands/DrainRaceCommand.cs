using System.Globalization;
using System.Text;
using System.Text.Json;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Programs;
using Spectre.Console;
using Spectre.Console.Rendering;
using BpfMaps.Measurements;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>Settings of <c>drain-race</c>.</summary>
/// <param name="SecondsPerMethod">How long writers run against each method.</param>
/// <param name="Writers">Writer threads.</param>
/// <param name="PerCpu">Per-CPU hash maps instead of hash maps.</param>
internal sealed record DrainRaceSettings(double SecondsPerMethod, int Writers, bool PerCpu);

/// <summary>
/// <c>drain-race</c>: runs the DrainRace of the library (BPF counter programs via test-run against each
/// drain method in turn) and shows how many increments each method lost. Rows appear as methods finish.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class DrainRaceCommand(CliConsole console, GlobalOptions options)
{
    /// <summary>The most writers a race takes: four per CPU.</summary>
    public static int MaxWriters => 4 * Environment.ProcessorCount;

    /// <summary>Runs the race.</summary>
    /// <param name="settings">The settings.</param>
    /// <returns><see cref="ExitCode.Ok"/>; the table says what was lost.</returns>
    public ExitCode Run(DrainRaceSettings settings)
    {
        Seconds.Check(settings.SecondsPerMethod, "drain-race: --seconds");
        int most = MaxWriters;
        if (settings.Writers < 1 || settings.Writers > most)
        {
            throw new CliException(ExitCode.Usage, $"drain-race: --writers {settings.Writers}: must be 1 to {most} (4 per CPU); more writers only queue for a CPU and starve the drainer");
        }

        var raceOptions = new DrainRaceOptions
        {
            Writers = settings.Writers,
            DurationPerMethod = TimeSpan.FromSeconds(settings.SecondsPerMethod),
            PerCpu = settings.PerCpu,
        };
        using var interrupt = new Interrupt();
        OutputFormat format = options.Resolve(console.StdoutIsTerminal);
        var rows = new List<DrainRaceMethodResult>();
        string title = $"drain race: {settings.Writers} BPF writers, {settings.SecondsPerMethod:0.#} s per method, {(settings.PerCpu ? "percpu_hash" : "hash")} counters";
        if (format == OutputFormat.Table)
        {
            console.Out.Live(DrainRaceRenderers.Table(title, rows, raceOptions.Methods.Count)).Start(ctx =>
            {
                DrainRace.Run(raceOptions, new SyncProgress(r =>
                {
                    rows.Add(r);
                    ctx.UpdateTarget(DrainRaceRenderers.Table(title, rows, raceOptions.Methods.Count));
                }), interrupt.Token);
            });
            return ExitCode.Ok;
        }

        var result = DrainRace.Run(raceOptions, new SyncProgress(r =>
        {
            if (format is OutputFormat.Plain or OutputFormat.Csv)
            {
                console.Stdout.Write(Encoding.UTF8.GetBytes(DrainRaceRenderers.PlainLine(r) + "\n"));
                console.Stdout.Flush();
            }
        }), interrupt.Token);
        if (format is OutputFormat.Json or OutputFormat.Ndjson)
        {
            DrainRaceRenderers.Json(console.Stdout, result.Methods);
        }

        return ExitCode.Ok;
    }

    // Progress<T> posts to the thread pool; the table must be updated in order, on the reporting thread.
    private sealed class SyncProgress(Action<DrainRaceMethodResult> report) : IProgress<DrainRaceMethodResult>
    {
        public void Report(DrainRaceMethodResult value) => report(value);
    }
}

/// <summary>The drain race's outputs, each testable with in-memory results.</summary>
internal static class DrainRaceRenderers
{
    /// <summary>The Spectre table.</summary>
    /// <param name="title">The title.</param>
    /// <param name="rows">Methods done so far.</param>
    /// <param name="total">Methods in the race.</param>
    /// <returns>The table.</returns>
    public static IRenderable Table(string title, IReadOnlyList<DrainRaceMethodResult> rows, int total)
    {
        var t = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
        t.AddColumn("method");
        foreach (string c in new[] { "produced", "drained", "remaining", "lost", "lost %", "drains/s", "increments/s" })
        {
            t.AddColumn(new TableColumn(c).RightAligned());
        }

        foreach (DrainRaceMethodResult r in rows)
        {
            string lost = r.Lost == 0 ? "[green]0[/]" : $"[red]{r.Lost:N0}[/]";
            t.AddRow(
                new Text(r.MethodName),
                new Text(r.Produced.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(r.Drained.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(r.Remaining.ToString("N0", CultureInfo.InvariantCulture)),
                new Markup(lost),
                new Text(r.LostPercent.ToString("0.###", CultureInfo.InvariantCulture)),
                new Text(r.DrainsPerSecond.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(r.IncrementsPerSecond.ToString("N0", CultureInfo.InvariantCulture)));
        }

        t.Caption(rows.Count < total ? $"{rows.Count}/{total} methods done..." : "lost = produced - (drained + remaining)");
        return t;
    }

    /// <summary>One line per method for plain output.</summary>
    /// <param name="r">The result.</param>
    /// <returns>The line.</returns>
    public static string PlainLine(DrainRaceMethodResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.MethodName}: produced {r.Produced} drained {r.Drained} remaining {r.Remaining} lost {r.Lost} ({r.LostPercent:0.###}%) drains/s {r.DrainsPerSecond:F0} increments/s {r.IncrementsPerSecond:F0}");

    /// <summary>A JSON array of method results.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="rows">The results.</param>
    public static void Json(Stream output, IReadOnlyList<DrainRaceMethodResult> rows)
    {
        using (var w = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (DrainRaceMethodResult r in rows)
            {
                w.WriteStartObject();
                w.WriteString("method", r.MethodName);
                w.WriteNumber("produced", r.Produced);
                w.WriteNumber("produced_by_program", r.ProducedByProgram);
                w.WriteNumber("drained", r.Drained);
                w.WriteNumber("remaining", r.Remaining);
                w.WriteNumber("lost", r.Lost);
                w.WriteNumber("drains", r.Drains);
                w.WriteNumber("seconds", Math.Round(r.Elapsed.TotalSeconds, 3));
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        output.Write("\n"u8);
        output.Flush();
    }
}
