using System.Diagnostics;
using System.Globalization;

namespace BpfMaps.Tests.Safety;

/// <summary>One call of the span sweep: what was called, and how it ended (or that the child died in it).</summary>
public sealed class SweepCall(int index, string member, string target, string variant)
{
    public int Index { get; } = index;

    public string Member { get; } = member;

    public string Target { get; } = target;

    public string Variant { get; } = variant;

    /// <summary>Full name of the exception thrown, or null when the call returned.</summary>
    public string? Exception { get; set; }

    public bool IsArgumentException { get; set; }

    /// <summary>The exception's message, or "returned ..." with the value and any ref counts.</summary>
    public string? Message { get; set; }

    /// <summary>Bytes changed outside the spans, or null.</summary>
    public string? WritesOutside { get; set; }

    /// <summary>Set when the child died (or hung) during this call.</summary>
    public string? Crash { get; set; }

    public string Outcome => Crash is not null ? $"CRASH: {Crash}"
        : Exception is null ? Message ?? "(no outcome)"
        : $"{Exception}: {Message}";

    public override string ToString() => $"{Member} on {Target} [{Variant}] -> {Outcome}{(WritesOutside is null ? "" : $"; WROTE OUTSIDE: {WritesOutside}")}";
}

/// <summary>One line of the NUL sweep: a call with the NUL, and the same call without it (the control).</summary>
public sealed record NulCall(string Member, string Param, string Target,
    string NulException, bool NulIsArgument, string NulMessage,
    string ControlException, bool ControlIsArgument, string ControlMessage)
{
    public override string ToString()
        => $"{Member} ({Param}) on {Target}: with NUL -> {Describe(NulException, NulMessage)}; without -> {Describe(ControlException, ControlMessage)}";

    private static string Describe(string type, string message) => type == "-" ? message : $"{type}: {message}";
}

/// <summary>
/// Runs tests/BpfMaps.Tests.SpanSweep and reads its records (the format is in its Program.cs). When the
/// child dies in a call, that call is recorded as a crash and a new child carries on from the next one.
/// </summary>
public sealed class SweepChild
{
    private const int MaxRestarts = 40;
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    public string? KernelUnavailable { get; private set; }

    public List<string> Targets { get; } = [];

    public List<(string Member, string Reason)> Skipped { get; } = [];

    public List<(string Member, string Reason)> NoTarget { get; } = [];

    public List<(string Property, string Reason)> NoConsumer { get; } = [];

    public List<string> Methods { get; } = [];

    public int Planned { get; private set; } = -1;

    public SortedDictionary<int, SweepCall> Calls { get; } = [];

    public List<NulCall> Nul { get; } = [];

    /// <summary>Deaths of the child outside any call, and running out of restarts.</summary>
    public List<string> Failures { get; } = [];

    public int Runs { get; private set; }

    /// <summary>Runs the sweep to its end, restarting the child after each crash.</summary>
    /// <param name="mode">"spans" or "nul".</param>
    /// <param name="end">Stop before this call (for testing the harness).</param>
    /// <param name="crashAt">Calls that abort the child on purpose (for testing the harness).</param>
    public static SweepChild Run(string mode, int? end = null, string? crashAt = null)
    {
        var log = new SweepChild();
        int start = 0;
        for (int restart = 0; ; restart++)
        {
            var (lines, exit, stderr) = RunOnce(mode, start, end, crashAt);
            log.Runs++;
            bool complete = log.Read(lines, first: restart == 0);
            if (complete && exit == "exit code 0")
            {
                return log;
            }

            SweepCall? inProgress = log.Calls.Values.LastOrDefault(c => c.Index >= start && c.Message is null && c.Crash is null);
            string why = $"the child ended with {exit}{(stderr.Length == 0 ? "" : $"; stderr: {Tail(stderr)}")}";
            if (inProgress is null || mode != "spans")
            {
                log.Failures.Add(complete ? $"the sweep finished but {why}" : $"the child died outside a call: {why}");
                return log;
            }

            inProgress.Crash = why;
            start = inProgress.Index + 1;
            if (start >= log.Planned)
            {
                return log;
            }

            if (restart == MaxRestarts)
            {
                log.Failures.Add($"stopped after {MaxRestarts} restarts; calls from {start} on were not made");
                return log;
            }
        }
    }

    private bool Read(List<string> lines, bool first)
    {
        bool complete = false;
        foreach (string line in lines)
        {
            string[] f = line.Split('\t');
            switch (f[0])
            {
                case "KERNEL" when first:
                    KernelUnavailable = f[1] == "available" ? null : f.ElementAtOrDefault(2) ?? "unavailable";
                    break;
                case "TARGET" when first:
                    Targets.Add(f[1]);
                    break;
                case "SKIP" when first:
                    Skipped.Add((f[1], f[2]));
                    break;
                case "NOTARGET" when first:
                    NoTarget.Add((f[1], f[2]));
                    break;
                case "NOCONSUMER" when first:
                    NoConsumer.Add((f[1], f[2]));
                    break;
                case "METHOD" when first:
                    Methods.Add(f[1]);
                    break;
                case "PLAN":
                    Planned = int.Parse(f[1], CultureInfo.InvariantCulture);
                    break;
                case "CALL":
                    int i = int.Parse(f[1], CultureInfo.InvariantCulture);
                    Calls[i] = new SweepCall(i, f[2], f[3], f[4]);
                    break;
                case "DONE":
                    SweepCall c = Calls[int.Parse(f[1], CultureInfo.InvariantCulture)];
                    c.Exception = f[2] == "-" ? null : f[2];
                    c.IsArgumentException = f[3] == "1";
                    c.Message = f[4];
                    c.WritesOutside = f[5] == "-" ? null : f[5];
                    break;
                case "NUL":
                    Nul.Add(new NulCall(f[1], f[2], f[3], f[4], f[5] == "1", f[6], f[7], f[8] == "1", f[9]));
                    break;
                case "END":
                    complete = true;
                    break;
            }
        }

        return complete;
    }

    private static (List<string> Lines, string Exit, string Stderr) RunOnce(string mode, int start, int? end, string? crashAt)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath! : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(ChildPath());
        psi.ArgumentList.Add(mode);
        psi.ArgumentList.Add("--start");
        psi.ArgumentList.Add(start.ToString(CultureInfo.InvariantCulture));
        if (end is { } e)
        {
            psi.ArgumentList.Add("--end");
            psi.ArgumentList.Add(e.ToString(CultureInfo.InvariantCulture));
        }

        psi.Environment["BPFMAPS_SWEEP_CRASH_AT"] = crashAt ?? "";
        // A crash should be a short line, not a core dump.
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";

        var lines = new List<string>();
        var stderr = new System.Text.StringBuilder();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string exit;
        if (!p.WaitForExit(s_timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            exit = $"no end after {s_timeout.TotalSeconds:0} s (killed)";
        }
        else
        {
            p.WaitForExit();
            // On Unix a child killed by a signal reports 128 + the signal number.
            exit = p.ExitCode > 128 ? $"exit code {p.ExitCode} (signal {p.ExitCode - 128})" : $"exit code {p.ExitCode}";
        }

        lock (lines)
        {
            lock (stderr)
            {
                return (lines.ToList(), exit, stderr.ToString());
            }
        }
    }

    private static string Tail(string s)
    {
        string one = s.ReplaceLineEndings(" | ").Trim();
        return one.Length > 600 ? "..." + one[^600..] : one;
    }

    private static string ChildPath()
    {
        // tests/BpfMaps.Tests/bin/<Config>/net10.0 -> tests/BpfMaps.Tests.SpanSweep/bin/<Config>/net10.0
        string baseDir = AppContext.BaseDirectory.TrimEnd('/');
        string config = Path.GetFileName(Path.GetDirectoryName(baseDir)!);
        string p = Path.GetFullPath(Path.Combine(baseDir, "../../../../BpfMaps.Tests.SpanSweep/bin", config, "net10.0/BpfMaps.Tests.SpanSweep.dll"));
        Assert.True(File.Exists(p), $"the sweep child is not built at {p}");
        return p;
    }
}
