using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BpfMaps.Cli.Hosting;
using Spectre.Console;

namespace BpfMaps.Cli.Commands;

/// <summary>Settings of <c>bench</c>.</summary>
/// <param name="Entries">Entries in the hash map.</param>
/// <param name="Runs">Timed runs per tool (the median is reported).</param>
/// <param name="Bpftool">The bpftool executable.</param>
/// <param name="Keep">Leave the map pinned afterwards (for profiling by hand).</param>
internal sealed record BenchSettings(int Entries, int Runs, string Bpftool, bool Keep = false);

/// <summary>One tool's timing.</summary>
/// <param name="Tool">What ran.</param>
/// <param name="Seconds">Median wall time of the whole process.</param>
/// <param name="Bytes">Bytes it wrote to stdout.</param>
/// <param name="Hash">A hash of its stdout (comparable within one run only).</param>
/// <param name="ExitCode">Its exit code.</param>
internal sealed record BenchResult(string Tool, double Seconds, long Bytes, string Hash, int ExitCode);

/// <summary>
/// <c>bench</c>: creates and fills a hash map (u32 key, u64 value), pins it, then times
/// <c>bpfmap -j dump</c> and <c>bpftool -j map dump</c> of it as child processes, end to end (start-up,
/// dump, JSON written to a pipe and read by us), and prints entries/s and the ratio. Both outputs are
/// hashed (with <see cref="HashCode"/>, cheap enough not to slow the reader), so the table also says whether the two tools wrote the same bytes.
/// </summary>
/// <param name="console">The console.</param>
internal sealed class BenchCommand(CliConsole console)
{
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

        string pin = Path.Combine(dir, $"bpfmap-bench-{Environment.ProcessId}");
        TextWriter log = console.Stderr;
        var fill = Stopwatch.StartNew();
        using (BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = settings.Entries, Name = "bpfmap_bench" }))
        {
            Fill(map, settings.Entries);
            map.Pin(pin);
        }

        log.WriteLine($"bench: filled a {settings.Entries:N0}-entry hash map in {fill.Elapsed.TotalSeconds:F2} s, pinned at {pin}");
        try
        {
            var results = new List<BenchResult>();
            ProcessStartInfo ours = SelfProcess.StartInfo(["-j", "dump", "pinned", pin]);
            results.Add(Time("bpfmap -j dump", ours, settings.Runs, log));
            var theirs = new ProcessStartInfo(settings.Bpftool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-j", "map", "dump", "pinned", pin })
            {
                theirs.ArgumentList.Add(a);
            }

            BenchResult? bpftool = null;
            try
            {
                bpftool = Time("bpftool -j map dump", theirs, settings.Runs, log);
                results.Add(bpftool);
            }
            catch (System.ComponentModel.Win32Exception)
            {
                log.WriteLine($"bench: {settings.Bpftool} not found; timing bpfmap only");
            }

            Render(settings, results, bpftool is null ? null : bpftool.Seconds / results[0].Seconds);
            return results.All(r => r.ExitCode == 0) ? ExitCode.Ok : ExitCode.Failure;
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

    /// <summary>Fills keys 0..n-1 with value key*3 using BPF_MAP_UPDATE_BATCH.</summary>
    /// <param name="map">The map.</param>
    /// <param name="n">Entries.</param>
    public static void Fill(BpfMap map, int n)
    {
        const int chunk = 65536;
        var keys = new uint[chunk];
        var values = new ulong[chunk];
        for (int start = 0; start < n; start += chunk)
        {
            int c = Math.Min(chunk, n - start);
            for (int i = 0; i < c; i++)
            {
                keys[i] = (uint)(start + i);
                values[i] = (ulong)(start + i) * 3;
            }

            map.UpdateBatch(MemoryMarshal.AsBytes(keys.AsSpan(0, c)), MemoryMarshal.AsBytes(values.AsSpan(0, c)), c);
        }
    }

    private static BenchResult Time(string tool, ProcessStartInfo psi, int runs, TextWriter log)
    {
        var times = new List<double>();
        long bytes = 0;
        string hash = "";
        int exit = 0;
        for (int r = 0; r < runs; r++)
        {
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi) ?? throw new CliException(ExitCode.Failure, $"bench: could not start {psi.FileName}");
            Task<string> err = p.StandardError.ReadToEndAsync();
            var hasher = default(HashCode);
            byte[] buf = new byte[1 << 16];
            Stream s = p.StandardOutput.BaseStream;
            long n = 0;
            int got;
            while ((got = s.Read(buf)) > 0)
            {
                hasher.AddBytes(buf.AsSpan(0, got));
                n += got;
            }

            p.WaitForExit();
            sw.Stop();
            times.Add(sw.Elapsed.TotalSeconds);
            bytes = n;
            hash = hasher.ToHashCode().ToString("x8", CultureInfo.InvariantCulture);
            exit = p.ExitCode;
            if (exit != 0)
            {
                log.WriteLine($"bench: {tool} exited {exit}: {err.Result.Trim()}");
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: {tool} run {r + 1}/{runs}: {sw.Elapsed.TotalSeconds:F3} s, {n:N0} bytes"));
        }

        times.Sort();
        return new BenchResult(tool, times[times.Count / 2], bytes, hash, exit);
    }

    private void Render(BenchSettings settings, List<BenchResult> results, double? ratio)
    {
        if (console.StdoutIsTerminal)
        {
            var t = new Table().Border(TableBorder.Rounded).Title($"JSON dump of a {settings.Entries:N0}-entry hash map (median of {settings.Runs})");
            t.AddColumn("tool");
            t.AddColumn(new TableColumn("seconds").RightAligned());
            t.AddColumn(new TableColumn("entries/s").RightAligned());
            t.AddColumn(new TableColumn("output bytes").RightAligned());
            t.AddColumn("output hash");
            foreach (BenchResult r in results)
            {
                t.AddRow(r.Tool, r.Seconds.ToString("F3", CultureInfo.InvariantCulture), (settings.Entries / r.Seconds).ToString("N0", CultureInfo.InvariantCulture), r.Bytes.ToString("N0", CultureInfo.InvariantCulture), r.Hash);
            }

            console.Out.Write(t);
            if (ratio is { } x)
            {
                console.Out.MarkupLine(CultureInfo.InvariantCulture, "bpfmap is [bold]{0:F1}x[/] faster than bpftool end to end; outputs {1}", x, results[0].Hash == results[1].Hash ? "identical" : "differ");
            }

            return;
        }

        using var w = new StreamWriter(console.Stdout, leaveOpen: true);
        w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"JSON dump of a {settings.Entries}-entry hash map, median of {settings.Runs} runs"));
        foreach (BenchResult r in results)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Tool,-22} {r.Seconds,8:F3} s  {settings.Entries / r.Seconds,12:N0} entries/s  {r.Bytes,12:N0} bytes  hash {r.Hash}"));
        }

        if (ratio is { } y)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio: bpfmap is {y:F1}x faster than bpftool; outputs {(results[0].Hash == results[1].Hash ? "identical" : "differ")}"));
        }
    }
}
