using BpfMaps.Cli.Hosting;
using BpfMaps.Exporter;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary><c>bpfmap export</c>: runs the metrics exporter host until Ctrl+C or SIGTERM.</summary>
internal static class ExportCommand
{
    /// <summary>Runs the exporter and maps its result onto bpfmap's exit codes.</summary>
    /// <param name="console">Where errors go.</param>
    /// <param name="configPath">The JSON configuration, or null for options only.</param>
    /// <param name="args">Options that override the file.</param>
    /// <returns>The exit code.</returns>
    public static int Run(CliConsole console, string? configPath, IReadOnlyList<string> args)
    {
        int code = ExporterHost.RunAsync(configPath, args, console.Stderr, CancellationToken.None).GetAwaiter().GetResult();
        console.Stderr.Flush();
        return (int)(code switch
        {
            0 => ExitCode.Ok,
            2 => ExitCode.BadConfig,
            _ => ExitCode.ExporterFailed,
        });
    }
}
