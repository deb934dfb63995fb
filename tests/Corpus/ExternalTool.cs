using System.Diagnostics;

namespace BpfMaps.Tests.Corpus;

/// <summary>Finds and runs the command-line tools the corpus needs, capturing both output streams.</summary>
public static class ExternalTool
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    /// <summary>The full path of <paramref name="name"/> on PATH (plus /usr/sbin and /sbin, where bpftool lives), or null.</summary>
    public static string? Which(string name)
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"]);
        foreach (string dir in dirs)
        {
            string file = Path.Combine(dir, name);
            if (File.Exists(file))
            {
                return file;
            }
        }

        return null;
    }

    /// <summary>Runs <paramref name="exe"/> to completion. A tool that hangs is killed and reported as a failure, never as a skip.</summary>
    public static ToolResult Run(string exe, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        string command = string.Join(' ', psi.ArgumentList.Prepend(exe).Select(Quote));
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {command}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(s_timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish within {s_timeout.TotalSeconds} s");
        }

        return new ToolResult(command, p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Quote(string a) => a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,+@".Contains(c)) ? a : $"'{a.Replace("'", "'\\''")}'";
}
