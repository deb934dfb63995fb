using System.Diagnostics;

namespace BpfMaps.Cli.Hosting;

/// <summary>How to start this tool again as a child process (AOT binary, apphost, or <c>dotnet bpfmap.dll</c>).</summary>
internal static class SelfProcess
{
    /// <summary>A start info that runs bpfmap with <paramref name="args"/>.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The start info (stdout and stderr redirected).</returns>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string exe = Environment.ProcessPath ?? "bpfmap";
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bpfmap.dll"));
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }
}
