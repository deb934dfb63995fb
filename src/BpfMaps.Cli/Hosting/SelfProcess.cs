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
        bool native = Path.GetFileName(exe) == "bpfmap";

        // Otherwise we run under the dotnet host (or inside another program, such as a test host).
        string file = native ? exe : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
            : Path.GetFileNameWithoutExtension(exe) == "dotnet" ? exe : "dotnet";
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (!native)
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
