using System.Diagnostics;
using System.Text;
using BpfMaps.Cli;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>The result of one bpfmap or bpftool run.</summary>
public sealed record RunResult(int Exit, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Runs bpfmap in this process over in-memory streams.</summary>
public static class Cli
{
    public static RunResult Run(params string[] args) => Run(terminal: false, args);

    /// <summary>Runs bpfmap expecting failure: exit <paramref name="code"/> and one stderr line containing <paramref name="contains"/>, without a stack trace.</summary>
    internal static RunResult Fails(ExitCode code, string contains, params string[] args)
    {
        RunResult r = Run(args);
        Assert.True(r.Exit == (int)code, $"bpfmap {string.Join(' ', args)}: expected {code} ({(int)code}), got {r.Exit}: {r.Stderr}");
        Assert.Single(r.StderrLines);
        Assert.StartsWith("bpfmap: ", r.Stderr);
        Assert.Contains(contains, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        return r;
    }

    /// <summary>Runs bpfmap in this process and returns stdout's bytes as written (for byte-for-byte comparisons).</summary>
    public static (int Exit, byte[] Stdout, string Stderr) RunBytes(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int exit = BpfmapCli.Run(args, new CliConsole(stdout, stderr, false, false, width: 140));
        return (exit, stdout.ToArray(), stderr.ToString());
    }

    public static RunResult Run(bool terminal, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var console = new CliConsole(stdout, stderr, terminal, false, width: 140);
        int exit = BpfmapCli.Run(args, console);
        return new RunResult(exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    /// <summary>Runs the built bpfmap.dll as a child process.</summary>
    public static RunResult RunProcess(string[]? prefix, params string[] args)
        => RunProcessOf(Path.Combine(AppContext.BaseDirectory, "bpfmap.dll"), prefix, args);

    /// <summary>Runs bpfmap as uid 65534 without capabilities (from a world-readable copy of the build output).</summary>
    public static RunResult RunUnprivileged(params string[] args)
    {
        if (BpfMaps.Tests.Common.UnprivilegedChild.WhyUnavailable() is { } why)
        {
            Assert.Skip(why);
        }

        string dll = BpfMaps.Tests.Common.UnprivilegedChild.Stage(Path.Combine(AppContext.BaseDirectory, "bpfmap.dll"));
        return RunProcessOf(dll, [.. BpfMaps.Tests.Common.UnprivilegedChild.Setpriv], args);
    }

    private static RunResult RunProcessOf(string dll, string[]? prefix, string[] args)
    {
        var all = new List<string>();
        all.AddRange(prefix ?? []);
        all.AddRange(["env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "DOTNET_NOLOGO=1", "dotnet", dll]);
        all.AddRange(args);
        return Proc.Run(all[0], all.Skip(1));
    }
}

public static class Proc
{
    public static RunResult Run(string exe, IEnumerable<string> args, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        Task<string> o = p.StandardOutput.ReadToEndAsync();
        Task<string> e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(true);
            throw new TimeoutException($"{exe} did not finish");
        }

        return new RunResult(p.ExitCode, o.Result, e.Result);
    }

    public static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"]))
        {
            string f = Path.Combine(dir, name);
            if (File.Exists(f))
            {
                return f;
            }
        }

        return null;
    }
}

/// <summary>Skips a test where bpf() or bpffs is not usable, with the reason.</summary>
public static class Kernel
{
    // Only a missing syscall or missing privilege skips; any other failure must fail the test.
    private static readonly Lazy<string?> Problem = new(BpfMaps.Features.BpfFeatures.WhyUnavailable);

    public static void Require()
    {
        if (Problem.Value is { } p)
        {
            Assert.Skip($"bpf() unavailable: {p}");
        }
    }

    public static void RequireBpffs()
    {
        Require();
        if (!File.ReadAllText("/proc/mounts").Contains(" /sys/fs/bpf bpf ", StringComparison.Ordinal))
        {
            Assert.Skip("bpffs is not mounted at /sys/fs/bpf (scripts/setup.sh mounts it)");
        }
    }

    public static string Bpftool()
    {
        string? b = Proc.Which("bpftool");
        if (b is null)
        {
            Assert.Skip("bpftool is not installed (scripts/setup.sh installs it)");
        }

        return b!;
    }
}

/// <summary>A unique directory under /sys/fs/bpf, removed with everything pinned in it.</summary>
public sealed class PinDir : IDisposable
{
    public PinDir()
    {
        Kernel.RequireBpffs();
        Path = $"/sys/fs/bpf/bpfmap-test-{Environment.ProcessId}-{Guid.NewGuid():N}"[..52];
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
