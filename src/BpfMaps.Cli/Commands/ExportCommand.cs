using System.Diagnostics;
using System.Runtime.InteropServices;
using BpfMaps.Cli.Errors;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// <c>bpfmap export</c>: becomes the exporter, <c>bpfmap-exporter</c>, which bpfmap's build, publish
/// and tool packages put beside bpfmap. The exporter (OpenTelemetry, Hosting, prometheus-net) is an
/// executable of its own so that bpfmap's native binary does not carry it: NativeAOT rehydrates a
/// binary's data at every start, and the exporter's doubled what <c>show</c> paid for it.
/// </summary>
internal static class ExportCommand
{
    /// <summary>The exporter's file name, beside bpfmap's executable (or its <c>.dll</c>, framework-dependent).</summary>
    internal const string ExecutableName = "bpfmap-exporter";

    /// <summary>
    /// Runs the exporter with the file and the overriding options. From the process's own console it
    /// replaces bpfmap (execv), so signals and the exit code are the exporter's own, with no process
    /// between; from a caller's console (tests) it runs as a child whose output is copied.
    /// </summary>
    /// <param name="console">Where the exporter's output goes.</param>
    /// <param name="configPath">The JSON configuration, or null for options only.</param>
    /// <param name="args">Options that override the file.</param>
    /// <returns>The exporter's exit code (0, 12 bad configuration, 13 could not start or failed).</returns>
    public static int Run(CliConsole console, string? configPath, IReadOnlyList<string> args)
    {
        (string program, string[] prefix) = Locate(AppContext.BaseDirectory);
        string[] argv = [.. prefix, .. configPath is null ? Array.Empty<string>() : ["--config", configPath], .. args];
        if (console.IsProcessConsole)
        {
            console.Stdout.Flush();
            console.Stderr.Flush();
            Exec(program, argv);
        }

        return RunChild(console, program, argv);
    }

    /// <summary>
    /// The exporter beside bpfmap. Under dotnet (<c>dotnet bpfmap.dll</c>) its dll runs under the same dotnet;
    /// otherwise its executable (NativeAOT, or an apphost), else its dll under the dotnet of the running runtime.
    /// </summary>
    /// <param name="directory">bpfmap's directory.</param>
    /// <returns>The program to run and the arguments that come before the exporter's own.</returns>
    internal static (string Program, string[] Prefix) Locate(string directory)
    {
        string executable = Path.Combine(directory, ExecutableName);
        string dll = executable + ".dll";
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileName(self) == "dotnet" && File.Exists(dll))
        {
            // An apphost finds the runtime only where it is installed by default or through DOTNET_ROOT; the
            // dotnet that runs bpfmap is known to work.
            return (self, [dll]);
        }

        if (File.Exists(executable))
        {
            return (executable, []);
        }

        if (File.Exists(dll))
        {
            return (DotnetHost() ?? throw new CliException(ExitCode.ExporterFailed, $"cannot run {dll}: no dotnet found beside the running runtime or on PATH"), [dll]);
        }

        throw new CliException(ExitCode.ExporterFailed, $"the exporter is not installed: no {ExecutableName} beside bpfmap in {directory}");
    }

    // A framework-dependent bpfmap that is not run by dotnet (a tool shim hosts the runtime itself): the dotnet
    // of the running runtime's installation (shared/Microsoft.NETCore.App/VERSION is three levels below it), then PATH.
    private static string? DotnetHost()
    {
        string runtime = RuntimeEnvironment.GetRuntimeDirectory();
        if (runtime.Length > 0)
        {
            string beside = Path.Combine(Path.GetFullPath(Path.Combine(runtime, "..", "..", "..")), "dotnet");
            if (File.Exists(beside))
            {
                return beside;
            }
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static unsafe void Exec(string program, string[] args)
    {
        var strings = new nint[args.Length + 2];
        try
        {
            strings[0] = Marshal.StringToCoTaskMemUTF8(program);
            for (int i = 0; i < args.Length; i++)
            {
                strings[i + 1] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }

            int err;
            fixed (nint* argv = strings)
            {
                // argv[0] is the program's path; the array ends with the null pointer left in the last slot.
                _ = Interop.Execv.Call((byte*)strings[0], (byte**)argv);
                err = Marshal.GetLastPInvokeError();
            }

            throw new CliException(ExitCode.ExporterFailed, $"cannot run {program}: {Marshal.GetPInvokeErrorMessage(err)}");
        }
        finally
        {
            foreach (nint s in strings)
            {
                Marshal.FreeCoTaskMem(s);
            }
        }
    }

    private static int RunChild(CliConsole console, string program, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process child = Start(psi, program);
        Task copyOut = child.StandardOutput.BaseStream.CopyToAsync(console.Stdout);
        string errors = child.StandardError.ReadToEnd();
        child.WaitForExit();
        copyOut.GetAwaiter().GetResult();
        console.Stderr.Write(errors);
        console.Stderr.Flush();
        return child.ExitCode;
    }

    private static Process Start(ProcessStartInfo psi, string program)
    {
        try
        {
            return Process.Start(psi) ?? throw new CliException(ExitCode.ExporterFailed, $"cannot run {program}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CliException(ExitCode.ExporterFailed, $"cannot run {program}: {e.Message}");
        }
    }
}
