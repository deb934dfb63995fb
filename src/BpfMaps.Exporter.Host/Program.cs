using System.CommandLine;
using BpfMaps.Exporter;
using BpfMaps.Exporter.Host;

return ExporterMain.Run(args);

namespace BpfMaps.Exporter.Host
{
    /// <summary>
    /// <c>bpfmap-exporter [--config FILE] [overrides]</c>, which <c>bpfmap export</c> runs in its place:
    /// the configuration file and the options that override it go to <see cref="ExporterHost"/>, whose
    /// result becomes one of bpfmap's exit codes.
    /// </summary>
    internal static class ExporterMain
    {
        /// <summary>bpfmap's exit code for an invalid configuration (the message names the field).</summary>
        internal const int BadConfig = 12;

        /// <summary>bpfmap's exit code for an exporter that could not start or whose read loop failed.</summary>
        internal const int Failed = 13;

        /// <summary>Parses and runs a command line.</summary>
        /// <param name="args">The arguments.</param>
        /// <returns>The exit code: 0, <see cref="BadConfig"/> or <see cref="Failed"/>.</returns>
        public static int Run(string[] args)
        {
            var config = new Option<string>("--config") { Description = "Exporter configuration file (JSON); see docs/exporter.md" };
            var root = new RootCommand("bpfmap-exporter (bpfmap export): publish map contents as Prometheus (127.0.0.1:9435/metrics) and OTLP metrics until Ctrl+C or SIGTERM; other options (--listen, --interval, --otlp-endpoint, --maps:0:map ...) override the file") { config };
            root.TreatUnmatchedTokensAsErrors = false;
            root.SetAction(p =>
            {
                int code = ExporterHost.RunAsync(p.GetValue(config), p.UnmatchedTokens, Console.Error, CancellationToken.None).GetAwaiter().GetResult();
                return (ExporterExitCode)code switch
                {
                    ExporterExitCode.Ok => 0,
                    ExporterExitCode.BadConfig => BadConfig,
                    _ => Failed,
                };
            });
            return root.Parse(args).Invoke();
        }
    }
}
