using System.Diagnostics;
using System.Globalization;
using BpfMaps.Btf;

namespace BpfMaps.Benchmarks.SideBySide;

/// <summary>
/// Parsing the kernel's BTF, /sys/kernel/btf/vmlinux, in one run: <see cref="BtfSpec.LoadVmlinux"/> (file
/// read and parse) against libbpf's <c>btf__parse()</c> of the same file in a C program compiled here with
/// gcc (<c>btf_parse.c</c>). Each side times its own parses, around the call alone, file read included.
/// The C program stays up and parses when asked, so the two alternate parse by parse and load on the
/// machine falls on both alike; medians of all timed parses are reported, and the median of the
/// per-pair ratios, and the first call of each (ours maps the file then; later calls parse the same
/// mapping in place). Afterwards, extra rows time the parse of an array already in memory, and the
/// parse with plain read() calls into an array instead of the mapping (kernels before 6.16, which
/// cannot map the file).
/// </summary>
public static class BtfParseRunner
{
    public static int Run(string[] args)
    {
        int rounds = 300, warmup = 20;
        bool collect = args.Contains("--collect");
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
            }
        }

        string path = Path.Combine(BtfSpec.KernelBtfDirectory, "vmlinux");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"btf-parse: {path} does not exist (a kernel without CONFIG_DEBUG_INFO_BTF?)");
            return 2;
        }

        string exe = CompileCParse();
        var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(path);
        using var c = Process.Start(psi)!;
        try
        {
            var ours = new List<double>();
            var theirs = new List<double>();
            var ratios = new List<double>();
            var parseOnly = new List<double>();
            double firstOurs = 0, firstTheirs = 0;
            var viaRead = new List<double>();
            int ourTypes = 0, theirTypes = 0;

            // The first rounds warm up both sides (the JIT's tiers, libbpf's lazy binding, the page cache) and are not counted.
            for (int r = -warmup; r < rounds; r++)
            {
                (theirTypes, double cSeconds) = AskC(c);
                long t0 = Stopwatch.GetTimestamp();
                BtfSpec spec = BtfSpec.LoadVmlinux();
                double oursSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                ourTypes = spec.TypeCount;
                if (collect)
                {
                    // --collect: free the parse outside the clock, as the C side's btf__free is.
                    spec = null!;
                    GC.Collect();
                }

                if (r == -warmup)
                {
                    (firstOurs, firstTheirs) = (oursSeconds, cSeconds);
                }

                if (r >= 0)
                {
                    theirs.Add(cSeconds);
                    ours.Add(oursSeconds);
                    ratios.Add(cSeconds / oursSeconds);
                }
            }

            // Then, apart so that their garbage does not fall on the comparison: the parse of an array already
            // in memory, and read() into an array in place of the mapping, in turns.
            byte[] inMemory = File.ReadAllBytes(path);
            for (int r = 0; r < rounds; r++)
            {
                if (r % 2 == 0)
                {
                    long t1 = Stopwatch.GetTimestamp();
                    GC.KeepAlive(BtfSpec.Parse(inMemory));
                    parseOnly.Add(Stopwatch.GetElapsedTime(t1).TotalSeconds);
                }
                else
                {
                    long t3 = Stopwatch.GetTimestamp();
                    GC.KeepAlive(BtfSpec.LoadVmlinux(allowMap: false));
                    viaRead.Add(Stopwatch.GetElapsedTime(t3).TotalSeconds);
                }
            }

            long size = new FileInfo(path).Length;
            Console.WriteLine($"BTF parse of {path} ({size:N0} bytes, {ourTypes:N0} type ids): {rounds} parses each, alternating, after {warmup} warm-up rounds; {Environment.ProcessorCount} CPUs, load average {LoadAverage()}{(collect ? "; ours collected outside the clock" : "")}{(Environment.GetEnvironmentVariable("DOTNET_GCRetainVM") is { Length: > 0 } retain ? $"; DOTNET_GCRetainVM={retain}" : "")}");
            Console.WriteLine($"  {"parser",-40} {"median",10} {"min",10} {"max",10} {"MB/s",8}");
            Row("BtfSpec.LoadVmlinux (read + parse)", ours, size);
            Row("libbpf btf__parse (read + parse)", theirs, size);
            Row("  ours: Parse(byte[]) of an array", parseOnly, size);
            Row("  ours with read() instead of mmap", viaRead, size);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  first call: BtfSpec.LoadVmlinux {firstOurs * 1e3:F2} ms (maps the file; includes the JIT's first tier), btf__parse {firstTheirs * 1e3:F2} ms"));
            if (theirTypes != ourTypes)
            {
                Console.WriteLine($"  type counts differ: libbpf {theirTypes:N0}, BtfSpec {ourTypes:N0}");
                return 1;
            }

            double ratio = Median(theirs) / Median(ours);
            bool met = ratio >= 1.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  libbpf/BtfSpec: {ratio:F2}x on medians, {Median(ratios):F2}x median of per-pair ratios, {Median(theirs) / Median(viaRead):F2}x with read()"));
            Console.WriteLine($"  target: BtfSpec at least as fast as libbpf: {(met ? "met" : "MISSED")}");
            return met ? 0 : 1;
        }
        finally
        {
            c.StandardInput.Close();
            c.WaitForExit();
            File.Delete(exe);
        }
    }

    internal static double Median(List<double> xs)
    {
        var sorted = xs.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    internal static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static void Row(string name, List<double> seconds, long size)
    {
        double median = Median(seconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-40} {median * 1e3,7:F2} ms {seconds.Min() * 1e3,7:F2} ms {seconds.Max() * 1e3,7:F2} ms {size / median / 1e6,8:F0}"));
    }

    private static (int Types, double Seconds) AskC(Process c)
    {
        c.StandardInput.WriteLine("parse");
        c.StandardInput.Flush();
        string line = c.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the libbpf baseline exited with {(c.WaitForExit(1000) ? c.ExitCode : -1)}");
        string[] parts = line.Split(' ');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture) / 1e9);
    }

    private static string CompileCParse()
    {
        string src = Path.Combine(AppContext.BaseDirectory, "SideBySide", "btf_parse.c");
        string exe = Path.Combine(Path.GetTempPath(), $"bpfmaps_btf_parse_{Environment.ProcessId}");
        using var p = Process.Start("gcc", ["-O2", "-o", exe, src, "-lbpf"])!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("gcc failed to build the libbpf baseline (scripts/setup.sh installs gcc and libbpf-dev)");
        }

        return exe;
    }
}
