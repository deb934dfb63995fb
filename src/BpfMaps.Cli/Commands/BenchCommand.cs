using System.Diagnostics;
using System.Globalization;
using BpfMaps.Cli.Hosting;
using Spectre.Console;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>Which maps <c>bench</c> dumps.</summary>
internal enum BenchScenario
{
    /// <summary>Both, u64 first.</summary>
    All,

    /// <summary>A hash of u32 keys and u64 values, no BTF.</summary>
    U64,

    /// <summary>A hash of 16-byte flow keys and 40-byte flow values, both structs described by BTF.</summary>
    Btf,

    /// <summary>The start-up of <c>bpfmap show</c> against <c>bpftool map show</c>, many runs each.</summary>
    Startup,

    /// <summary>A point lookup in the in-process engine against one in the kernel (a syscall each), in CPU time.</summary>
    Lookup,
}

/// <summary>Settings of <c>bench</c>.</summary>
/// <param name="Entries">Entries in each hash map.</param>
/// <param name="Runs">Timed runs per tool (the median is reported).</param>
/// <param name="Bpftool">The bpftool executable.</param>
/// <param name="Keep">Leave the maps pinned afterwards (for profiling by hand).</param>
/// <param name="Scenario">Which maps to dump.</param>
/// <param name="Output">Where the timed runs write their JSON.</param>
/// <param name="Aot">A NativeAOT bpfmap to time as well (this one is timed as such when it is AOT itself).</param>
/// <param name="Fallback">The `any` tool package's bpfmap.dll (framework-dependent), run under dotnet.</param>
internal sealed record BenchSettings(int Entries, int Runs, string Bpftool, bool Keep = false, BenchScenario Scenario = BenchScenario.All, BenchOutput Output = BenchOutput.Null, string? Aot = null, string? Fallback = null);

/// <summary>Where the timed runs of <c>bench</c> write their JSON.</summary>
internal enum BenchOutput
{
    /// <summary>/dev/null, as hyperfine does: the tools' own work only. One more run of each through a pipe checks the bytes.</summary>
    Null,

    /// <summary>A pipe that bench reads and hashes: what a consumer of the output pays too, on the same CPUs.</summary>
    Pipe,
}

/// <summary>One tool's timing.</summary>
/// <param name="Tool">What ran.</param>
/// <param name="Seconds">Median wall time of the whole process.</param>
/// <param name="Bytes">Bytes it wrote to stdout.</param>
/// <param name="Hash">A hash of its stdout (comparable within one run only).</param>
/// <param name="ExitCode">Its exit code (the first non-zero one, if any).</param>
/// <param name="InnerSeconds">For the C loop: the median of the time its own loop took, without process start-up.</param>
/// <param name="CpuSeconds">Median CPU time (user and system, every thread) of the timed runs.</param>
internal sealed record BenchResult(string Tool, double Seconds, long Bytes, string Hash, int ExitCode, double? InnerSeconds = null, double CpuSeconds = double.NaN);

/// <summary>
/// <c>bench</c>: creates and fills hash maps, pins each, then times <c>bpfmap -j dump</c>,
/// <c>bpftool -j map dump</c> and a raw C BPF_MAP_LOOKUP_BATCH loop (<see cref="CBatchLoop"/>, which reads
/// every entry and writes nothing) as child processes, end to end: start-up, the dump, and the JSON
/// written to /dev/null (or, with <see cref="BenchOutput.Pipe"/>, to a pipe that bench reads). Runs are
/// interleaved, one of each tool per round, and the median of each is shown with the ratios. Two maps:
/// u32 keys and u64 values, and flows with 16-byte keys and 40-byte values described by BTF, where both
/// tools add the <c>formatted</c> object to every entry. Each tool's JSON is read through a pipe and
/// hashed (with <see cref="HashCode"/>, a word at a time, cheap enough not to slow the reader) in an
/// untimed run first (or in the timed runs, with a pipe), so the results also say whether the two tools
/// wrote the same bytes; different bytes fail the command.
/// </summary>
/// <param name="console">The console.</param>
internal sealed class BenchCommand(CliConsole console)
{
    private const double BtfTargetVsBpftool = 10;
    private const double BtfTargetVsCLoop = 1.5;

    // The targets of the u64 map (issue 13): the installed tool's dump and drain against the C loops, and bpftool.
    private const double AotTargetVsCLoop = 1.15;
    private const double FallbackTargetVsCLoop = 1.6;
    private const double AotTargetVsBpftool = 7;
    private const double DrainTargetVsCLoop = 1.15;
    private const double StartupTargetMs = 5;

    private const string AotName = "bpfmap AOT -j dump";
    private const string FallbackName = "bpfmap any -j dump";
    private const string SelfName = "bpfmap -j dump";
    private const string DrainName = "bpfmap -j drain";
    private const string CDrainName = "C LOOKUP_AND_DELETE loop";

    /// <summary>Runs the benchmark.</summary>
    /// <param name="settings">The settings.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Run(BenchSettings settings)
    {
        if (settings.Entries <= 0 || settings.Runs <= 0)
        {
            throw new CliException(ExitCode.Usage, "bench: --entries and --runs must be positive");
        }

        string dir = "/sys/fs/bpf";
        if (!Directory.Exists(dir))
        {
            throw new CliException(ExitCode.NotSupported, "bench: /sys/fs/bpf is not mounted (mount -t bpf bpf /sys/fs/bpf)");
        }

        TextWriter log = console.Stderr;
        using CBatchLoop? loop = CBatchLoop.TryCompile(out string? why);
        if (loop is null)
        {
            log.WriteLine($"bench: no C loop to compare with: {why}");
        }

        bool ok = true;
        if (settings.Scenario is BenchScenario.All or BenchScenario.U64)
        {
            ok &= RunScenario(settings, BenchScenario.U64, Path.Combine(dir, $"bpfmap-bench-{Environment.ProcessId}"), loop, log);
        }

        if (settings.Scenario is BenchScenario.All or BenchScenario.Btf)
        {
            ok &= RunScenario(settings, BenchScenario.Btf, Path.Combine(dir, $"bpfmap-bench-btf-{Environment.ProcessId}"), loop, log);
        }

        if (settings.Scenario is BenchScenario.All or BenchScenario.Startup)
        {
            ok &= new StartupBench(console, settings).Run(log);
        }

        if (settings.Scenario is BenchScenario.All or BenchScenario.Lookup)
        {
            LookupBench.Run(console, settings.Runs, log);
        }

        return ok ? ExitCode.Ok : ExitCode.Failure;
    }

    private bool RunScenario(BenchSettings settings, BenchScenario scenario, string pin, CBatchLoop? loop, TextWriter log)
    {
        var fill = Stopwatch.StartNew();
        using BpfMap map = scenario == BenchScenario.Btf ? BenchMaps.CreateFlows(settings.Entries) : BenchMaps.CreateU64(settings.Entries);
        map.Pin(pin);
        string what = scenario == BenchScenario.Btf ? "hash map of flows with BTF" : "hash map";
        log.WriteLine($"bench: filled a {settings.Entries:N0}-entry {what} in {fill.Elapsed.TotalSeconds:F2} s, pinned at {pin}");
        try
        {
            var tools = Variants(settings, scenario, ["-j", "dump", "pinned", pin]);
            var theirs = new ProcessStartInfo(settings.Bpftool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-j", "map", "dump", "pinned", pin })
            {
                theirs.ArgumentList.Add(a);
            }

            if (CanStart(theirs))
            {
                tools.Add(("bpftool -j map dump", theirs));
            }
            else
            {
                log.WriteLine($"bench: {settings.Bpftool} not found; not timing bpftool");
            }

            if (loop is not null)
            {
                tools.Add((CLoopName, loop.StartInfo(map, DumpOptions.DefaultBatchSize)));
            }

            List<BenchResult> results = TimeInterleaved(tools, settings.Runs, settings.Output, log);
            if (scenario == BenchScenario.U64)
            {
                results.AddRange(TimeDrain(settings, map, tools[0], loop, log));
            }

            Render(settings, scenario, map, results);
            bool same = results.Where(r => r.Tool.StartsWith("bpf", StringComparison.Ordinal) && !r.Tool.Contains("drain", StringComparison.Ordinal))
                .Select(r => r.Hash).Distinct().Count() <= 1;
            return same && results.All(r => r.ExitCode == 0);
        }
        finally
        {
            if (settings.Keep)
            {
                log.WriteLine($"bench: map left pinned at {pin}");
            }
            else
            {
                File.Delete(pin);
            }
        }
    }

    private const string CLoopName = "C LOOKUP_BATCH loop";

    /// <summary>Whether this process runs NativeAOT code (no JIT).</summary>
    internal static bool SelfIsAot => !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled;

    /// <summary>
    /// The bpfmap builds to time with <paramref name="args"/>: the NativeAOT one (<c>--aot</c>, or this one when
    /// it is AOT), the <c>any</c> fallback (<c>--fallback</c>), and this one when it is neither. The first is the
    /// one the other tools are compared with; for the u64 map the AOT build and the fallback get names of their own.
    /// </summary>
    internal static List<(string Name, ProcessStartInfo Start)> Variants(BenchSettings settings, BenchScenario scenario, string[] args)
    {
        var tools = new List<(string Name, ProcessStartInfo Start)>();
        bool named = scenario is BenchScenario.U64 or BenchScenario.Startup;
        if (settings.Aot is { } aot)
        {
            tools.Add((named ? AotName : SelfName, Start(aot, args)));
        }
        else if (SelfIsAot)
        {
            tools.Add((named ? AotName : SelfName, SelfProcess.StartInfo(args)));
        }

        if (settings.Fallback is { } fallback && named)
        {
            tools.Add((FallbackName, Start(fallback, args)));
        }

        if (tools.Count == 0 || (named && !SelfIsAot && settings.Aot is null && settings.Fallback is null))
        {
            tools.Insert(0, (SelfName, SelfProcess.StartInfo(args)));
        }

        return tools;
    }

    /// <summary>A start info for a bpfmap at <paramref name="path"/>: a native binary, or a bpfmap.dll run under dotnet.</summary>
    private static ProcessStartInfo Start(string path, string[] args)
    {
        bool dll = path.EndsWith(".dll", StringComparison.Ordinal);
        var psi = new ProcessStartInfo(dll ? Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet" : Path.GetFullPath(path))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (dll)
        {
            psi.ArgumentList.Add(Path.GetFullPath(path));
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>
    /// <c>bpfmap -j drain</c> (the first variant: the AOT build when there is one) against the C
    /// LOOKUP_AND_DELETE_BATCH loop, each run on the map refilled (untimed) to the same entries.
    /// </summary>
    private static List<BenchResult> TimeDrain(BenchSettings settings, BpfMap map, (string Name, ProcessStartInfo Start) dumper, CBatchLoop? loop, TextWriter log)
    {
        ProcessStartInfo drain = dumper.Start;
        var args = drain.ArgumentList.ToList();
        int dump = args.IndexOf("dump");
        var psi = new ProcessStartInfo(drain.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        for (int i = 0; i < args.Count; i++)
        {
            psi.ArgumentList.Add(i == dump ? "drain" : args[i]);
        }

        string name = dumper.Name == AotName ? "bpfmap AOT -j drain" : DrainName;
        var tools = new List<(string Name, ProcessStartInfo Start)> { (name, psi) };
        if (loop is not null)
        {
            tools.Add((CDrainName, loop.StartInfo(map, DumpOptions.DefaultBatchSize, delete: true)));
        }

        void Refill()
        {
            BenchMaps.FillU64(map, settings.Entries);
        }

        return TimeInterleaved(tools, settings.Runs, BenchOutput.Null, log, Refill);
    }

    private static BenchResult? Find(List<BenchResult> results, string prefix) => results.FirstOrDefault(r => r.Tool.StartsWith(prefix, StringComparison.Ordinal));

    private static bool CanStart(ProcessStartInfo psi)
    {
        string file = psi.FileName;
        if (file.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(file);
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, file)));
    }

    /// <summary>
    /// Runs every tool once per round, in an order that rotates by round, so that load on the machine
    /// (other builds, page cache) falls on all of them alike. Before the rounds, one untimed run of each
    /// through a pipe hashes its output (with a pipe for the timed runs too, the bpftool run is left out
    /// here: the timed runs hash it).
    /// </summary>
    internal static List<BenchResult> TimeInterleaved(List<(string Name, ProcessStartInfo Start)> tools, int runs, BenchOutput output, TextWriter log, Action? beforeEach = null)
    {
        long[] bytes = new long[tools.Count];
        string[] hashes = new string[tools.Count];
        int[] exits = new int[tools.Count];
        for (int t = 0; t < tools.Count; t++)
        {
            (string name, ProcessStartInfo start) = tools[t];
            if (output == BenchOutput.Pipe && name.StartsWith("bpftool", StringComparison.Ordinal))
            {
                continue;
            }

            beforeEach?.Invoke();
            double seconds = RunOnce(start, log, out bytes[t], out hashes[t], out exits[t], out _);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: {name} untimed run through a pipe: {seconds:F3} s, {bytes[t]:N0} bytes, hash {hashes[t]}"));
        }

        var times = tools.Select(_ => new List<double>()).ToList();
        var inner = tools.Select(_ => new List<double>()).ToList();
        var cpu = tools.Select(_ => new List<double>()).ToList();
        for (int r = 0; r < runs; r++)
        {
            for (int k = 0; k < tools.Count; k++)
            {
                int t = (k + r) % tools.Count;
                (string name, ProcessStartInfo start) = tools[t];
                bool quiet = name is CLoopName or CDrainName;
                ProcessStartInfo timed = quiet || output == BenchOutput.Pipe ? start : ToDevNull(start);
                beforeEach?.Invoke();
                double cpu0 = ChildrenCpu();
                double seconds = RunOnce(timed, log, out long n, out string hash, out int exit, out string head);
                times[t].Add(seconds);
                cpu[t].Add(ChildrenCpu() - cpu0);
                if (output == BenchOutput.Pipe || quiet)
                {
                    bytes[t] = n;
                    hashes[t] = hash;
                }

                if (exits[t] == 0)
                {
                    exits[t] = exit;
                }

                if (quiet && exit == 0 && head.Split(' ') is [_, string ns, ..])
                {
                    inner[t].Add(long.Parse(ns, CultureInfo.InvariantCulture) / 1e9);
                }

                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: {name} run {r + 1}/{runs}: {seconds:F3} s, {cpu[t][^1]:F3} s of CPU{(output == BenchOutput.Pipe ? $", {n:N0} bytes" : "")}"));
            }
        }

        return [.. tools.Select((t, i) => new BenchResult(t.Name, Median(times[i]), bytes[i], hashes[i], exits[i], inner[i].Count > 0 ? Median(inner[i]) : null, Median(cpu[i])))];
    }

    /// <summary>CPU seconds of every child waited for so far: the difference around one run is that run's (and its sh's).</summary>
    private static double ChildrenCpu() => Interop.Rusage.Call(Interop.Rusage.Children, out Interop.Rusage.Usage u) == 0 ? u.Total : double.NaN;

    /// <summary>The same command with its stdout on /dev/null: through sh, which execs the tool in its place.</summary>
    private static ProcessStartInfo ToDevNull(ProcessStartInfo start)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >/dev/null");
        psi.ArgumentList.Add(start.FileName);
        foreach (string a in start.ArgumentList)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>Starts the process, reads and hashes its stdout, and times the whole.</summary>
    private static double RunOnce(ProcessStartInfo psi, TextWriter log, out long bytes, out string hash, out int exit, out string head)
    {
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new CliException(ExitCode.Failure, $"bench: could not start {psi.FileName}");
        Task<string> err = p.StandardError.ReadToEndAsync();
        var hasher = default(HashCode);
        byte[] buf = new byte[1 << 16];
        Stream s = p.StandardOutput.BaseStream;
        long n = 0;
        int got;
        int kept = 0;
        int carry = 0;
        byte[] first = new byte[256];
        while ((got = s.Read(buf.AsSpan(carry))) > 0)
        {
            if (kept < first.Length)
            {
                int c = Math.Min(got, first.Length - kept);
                buf.AsSpan(carry, c).CopyTo(first.AsSpan(kept));
                kept += c;
            }

            n += got;

            // HashCode.AddBytes takes 4 bytes at a time and the tail one by one, so the hash would depend on
            // how the pipe split the output; hashing whole words only, and the tail at the end, does not.
            int have = carry + got;
            int whole = have & ~3;
            hasher.AddBytes(buf.AsSpan(0, whole));
            carry = have - whole;
            buf.AsSpan(whole, carry).CopyTo(buf);
        }

        hasher.AddBytes(buf.AsSpan(0, carry));

        p.WaitForExit();
        sw.Stop();
        bytes = n;
        hash = hasher.ToHashCode().ToString("x8", CultureInfo.InvariantCulture);
        exit = p.ExitCode;
        head = System.Text.Encoding.UTF8.GetString(first, 0, kept).Trim();
        if (exit != 0)
        {
            log.WriteLine($"bench: {psi.FileName} exited {exit}: {err.Result.Trim()}");
        }

        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }

    private void Render(BenchSettings settings, BenchScenario scenario, BpfMap map, List<BenchResult> results)
    {
        string title = scenario == BenchScenario.Btf
            ? $"JSON dump with BTF of a {settings.Entries:N0}-entry hash map, key struct flow_key ({map.KeySize} B), value struct flow_stats ({map.ValueSize} B)"
            : $"JSON dump of a {settings.Entries:N0}-entry hash map, u32 key, u64 value";
        string how = $"median of {settings.Runs}, interleaved, output to {(settings.Output == BenchOutput.Null ? "/dev/null" : "a pipe bench reads")}";
        var lines = scenario == BenchScenario.U64 ? U64Ratios(results) : [];
        BenchResult ours = results[0];
        if (scenario == BenchScenario.U64)
        {
            // U64Ratios said it all.
        }
        else if (Find(results, "bpftool") is { } bpftool)
        {
            double x = bpftool.Seconds / ours.Seconds;
            string target = scenario == BenchScenario.Btf ? string.Create(CultureInfo.InvariantCulture, $" (target >= {BtfTargetVsBpftool}x: {Verdict(x >= BtfTargetVsBpftool)})") : "";
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"ratio: bpfmap is {x:F1}x faster than bpftool{target}; outputs {(bpftool.Hash == ours.Hash ? "identical" : "differ")}"));
        }

        if (scenario != BenchScenario.U64 && Find(results, CLoopName) is { } c)
        {
            double x = ours.Seconds / c.Seconds;
            string target = scenario == BenchScenario.Btf ? string.Create(CultureInfo.InvariantCulture, $" (target <= {BtfTargetVsCLoop}x: {Verdict(x <= BtfTargetVsCLoop)})") : "";
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"ratio: bpfmap takes {x:F2}x the C loop's wall time{target}; the C loop's own timer says {c.InnerSeconds ?? double.NaN:F3} s of its {c.Seconds:F3} s"));
        }

        if (console.StdoutIsTerminal)
        {
            var t = new Table().Border(TableBorder.Rounded).Title($"{title} ({how})");
            t.AddColumn("tool");
            t.AddColumn(new TableColumn("seconds").RightAligned());
            t.AddColumn(new TableColumn("CPU s").RightAligned());
            t.AddColumn(new TableColumn("entries/s").RightAligned());
            t.AddColumn(new TableColumn("output bytes").RightAligned());
            t.AddColumn("output hash");
            foreach (BenchResult r in results)
            {
                bool quiet = r.Tool is CLoopName or CDrainName;
                t.AddRow(r.Tool, r.Seconds.ToString("F3", CultureInfo.InvariantCulture), r.CpuSeconds.ToString("F3", CultureInfo.InvariantCulture), (settings.Entries / r.Seconds).ToString("N0", CultureInfo.InvariantCulture), quiet ? "(none)" : r.Bytes.ToString("N0", CultureInfo.InvariantCulture), quiet ? "" : r.Hash);
            }

            console.Out.Write(t);
            foreach (string line in lines)
            {
                console.Out.WriteLine(line);
            }

            return;
        }

        using var w = new StreamWriter(console.Stdout, leaveOpen: true);
        w.WriteLine($"{title}, {how}");
        foreach (BenchResult r in results)
        {
            string output = r.Tool is CLoopName or CDrainName ? "no output" : string.Create(CultureInfo.InvariantCulture, $"{r.Bytes,12:N0} bytes  hash {r.Hash}");
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Tool,-26} {r.Seconds,8:F3} s  {r.CpuSeconds,6:F3} s CPU  {settings.Entries / r.Seconds,12:N0} entries/s  {output}"));
        }

        foreach (string line in lines)
        {
            w.WriteLine(line);
        }
    }

    private static string Verdict(bool met) => met ? "met" : "MISSED";

    /// <summary>
    /// The ratios issue 13 sets targets for, each with its verdict: the AOT and the <c>any</c> build's dump
    /// against the C LOOKUP_BATCH loop, bpftool against the AOT build, the drain against the C
    /// LOOKUP_AND_DELETE_BATCH loop. A build that was not timed is named, with how to time it.
    /// </summary>
    internal static List<string> U64Ratios(List<BenchResult> results)
    {
        var lines = new List<string>();
        BenchResult? aot = Find(results, AotName);
        BenchResult? fallback = Find(results, FallbackName);
        BenchResult? c = Find(results, CLoopName);
        BenchResult? bpftool = Find(results, "bpftool");
        BenchResult? drain = results.FirstOrDefault(r => r.Tool.EndsWith("-j drain", StringComparison.Ordinal));
        BenchResult? cDrain = Find(results, CDrainName);
        const string NoAot = "not timed: run bench from the NativeAOT build, or pass --aot PATH (scripts/tool-install-test.sh --keep DIR makes one)";
        const string NoFallback = "not timed: pass --fallback PATH/bpfmap.dll (the any package's; scripts/tool-install-test.sh --keep DIR unpacks it)";
        if (Find(results, SelfName) is { } self && c is not null)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"ratio: this bpfmap ({(SelfIsAot ? "AOT" : "JIT")}) -j dump takes {self.Seconds / c.Seconds:F2}x the C loop's wall time"));
        }

        lines.Add(c is null ? "ratio: AOT dump / C loop: no C loop" : aot is null ? $"ratio: AOT dump / C loop: {NoAot}" : AtMost("AOT bpfmap -j dump / C LOOKUP_BATCH loop, wall time", aot.Seconds / c.Seconds, AotTargetVsCLoop, aot.CpuSeconds / c.CpuSeconds));
        lines.Add(c is null ? "ratio: any dump / C loop: no C loop" : fallback is null ? $"ratio: any dump / C loop: {NoFallback}" : AtMost("any (framework-dependent) bpfmap -j dump / C LOOKUP_BATCH loop, wall time", fallback.Seconds / c.Seconds, FallbackTargetVsCLoop, fallback.CpuSeconds / c.CpuSeconds));
        if (bpftool is not null)
        {
            lines.Add(aot is null ? $"ratio: bpftool / AOT dump: {NoAot}" : AtLeast("bpftool -j map dump / AOT bpfmap -j dump (times faster)", bpftool.Seconds / aot.Seconds, AotTargetVsBpftool, bpftool.CpuSeconds / aot.CpuSeconds));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"outputs: bpftool's and bpfmap's JSON are {(results.Where(r => r.Tool.StartsWith("bpf", StringComparison.Ordinal) && !r.Tool.Contains("drain", StringComparison.Ordinal)).Select(r => r.Hash).Distinct().Count() == 1 ? "identical" : "DIFFERENT")}"));
        }

        if (drain is not null && cDrain is not null)
        {
            string what = drain.Tool.Contains("AOT", StringComparison.Ordinal) ? "AOT bpfmap -j drain" : "bpfmap -j drain (not AOT: the target is for AOT)";
            lines.Add(AtMost($"{what} / C LOOKUP_AND_DELETE_BATCH loop, wall time", drain.Seconds / cDrain.Seconds, DrainTargetVsCLoop, drain.CpuSeconds / cDrain.CpuSeconds));
        }

        if (c is not null)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"the C loop's own timer says {c.InnerSeconds ?? double.NaN:F3} s of its {c.Seconds:F3} s (the rest is its process start and exit)"));
        }

        return lines;
    }

    /// <summary>
    /// A ratio with a ceiling: met, or short by how much. The CPU-time ratio follows: on a loaded machine the
    /// wall times are mostly waiting for a CPU, and the CPU times still say how much work each tool did.
    /// </summary>
    internal static string AtMost(string what, double x, double target, double cpu) =>
        string.Create(CultureInfo.InvariantCulture, $"ratio: {what}: {x:F2}x (target <= {target:F2}x: {(x <= target ? "met" : $"short by {((x / target) - 1) * 100:F0}%")}); CPU time {cpu:F2}x");

    /// <summary>A ratio with a floor: met, or short by how much; the CPU-time ratio follows.</summary>
    internal static string AtLeast(string what, double x, double target, double cpu) =>
        string.Create(CultureInfo.InvariantCulture, $"ratio: {what}: {x:F1}x (target >= {target:F0}x: {(x >= target ? "met" : $"short by {((target / x) - 1) * 100:F0}%")}); CPU time {cpu:F1}x");
}
