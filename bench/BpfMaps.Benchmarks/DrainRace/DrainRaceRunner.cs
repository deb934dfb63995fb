using System.Globalization;
using System.Text;
using BpfMaps.Programs;
using BpfMaps.Measurements;

namespace BpfMaps.Benchmarks;

/// <summary>
/// The drain-race benchmark: runs <see cref="DrainRace"/> (the measuring logic lives in the library,
/// shared with <c>bpfmap drain-race</c>) and prints one row per drain method.
/// </summary>
/// <remarks>
/// Arguments: <c>--writers N</c> (2), <c>--seconds S</c> per method (3), <c>--increments N</c> per
/// method (0: time only), <c>--keys K</c> (64), <c>--repeat R</c> runs per test-run call (1000),
/// <c>--increment N</c> (1), <c>--percpu</c>, <c>--interval-ms M</c> between drains (0),
/// <c>--methods gnk,batch,drain,swap</c>.
/// </remarks>
public static class DrainRaceRunner
{
    /// <summary>Parses <paramref name="args"/>, runs the race and prints the table.</summary>
    /// <param name="args">The arguments after the benchmark's name.</param>
    /// <returns>0 on success, 2 for bad arguments, 1 when bpf() fails.</returns>
    public static int Run(string[] args)
    {
        DrainRaceOptions options;
        try
        {
            options = Parse(args);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"drain-race: {e.Message}");
            return 2;
        }

        try
        {
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cts.Cancel();
            };
            DrainRaceResult result = DrainRace.Run(options, cts.Token);
            Console.Write(Format(result));
            return 0;
        }
        catch (BpfException e)
        {
            Console.Error.WriteLine($"drain-race: {e.Message}");
            return 1;
        }
    }

    /// <summary>Parses the arguments described in the remarks.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The options.</returns>
    /// <exception cref="FormatException">An unknown or malformed argument.</exception>
    public static DrainRaceOptions Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new DrainRaceOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{a} needs a value");
            int Int() => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 0 ? v : throw new FormatException($"{a} needs a non-negative integer");
            o = a switch
            {
                "--writers" => o with { Writers = Int() },
                "--seconds" => o with { DurationPerMethod = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)) },
                "--increments" => o with { IncrementsPerMethod = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--keys" => o with { KeyCount = Int() },
                "--repeat" => o with { RepeatPerRun = Int() },
                "--increment" => o with { Increment = Int() },
                "--interval-ms" => o with { DrainInterval = TimeSpan.FromMilliseconds(Int()) },
                "--percpu" => o with { PerCpu = true },
                "--methods" => o with { Methods = ParseMethods(Next()) },
                _ => throw new FormatException($"unknown argument '{a}'"),
            };
        }

        return o;
    }

    private static DrainMethod[] ParseMethods(string list) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(m => m switch
        {
            "gnk" or "a" => DrainMethod.GetNextKeyLookupDelete,
            "batch" or "b" => DrainMethod.LookupAndDeleteBatch,
            "drain" or "c" => DrainMethod.MapDrain,
            "swap" or "d" => DrainMethod.SwapDrain,
            _ => throw new FormatException($"unknown method '{m}' (gnk, batch, drain, swap)"),
        })];

    /// <summary>Renders the result as a fixed-width text table.</summary>
    /// <param name="result">The result.</param>
    /// <returns>The table, with a header line describing the setup.</returns>
    public static string Format(DrainRaceResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var o = result.Options;
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"drain race: {o.Writers} writer(s) x BPF_PROG_TEST_RUN (repeat {o.RepeatPerRun}), {o.KeyCount} keys, " +
            $"{(o.PerCpu ? "PERCPU_HASH" : "HASH")}, +{o.Increment} per run, {result.PossibleCpus} possible CPUs");
        string header = string.Format(inv, "{0,-32} {1,14} {2,14} {3,12} {4,10} {5,9} {6,10} {7,12} {8,13}",
            "method", "produced", "counted", "lost", "lost %", "drains/s", "entries/s", "incr/s", "elapsed");
        sb.AppendLine(header);
        sb.AppendLine(new string('-', header.Length));
        foreach (DrainRaceMethodResult r in result.Methods)
        {
            sb.AppendLine(string.Format(inv, "{0,-32} {1,14:N0} {2,14:N0} {3,12:N0} {4,9:F4}% {5,9:N0} {6,10:N0} {7,12:N0} {8,12:F2}s",
                r.MethodName, r.Produced, r.Counted, r.Lost, r.LostPercent, r.DrainsPerSecond, r.DrainedEntriesPerSecond, r.IncrementsPerSecond, r.Elapsed.TotalSeconds));
            if (r.InterruptedRuns > 0)
            {
                sb.AppendLine(inv, $"  ({r.InterruptedRuns} test runs were interrupted; produced is the program's own tally)");
            }
        }

        return sb.ToString();
    }
}
