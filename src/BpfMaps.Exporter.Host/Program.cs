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
        /// <returns>The exit code: 0, <see cref="BadConfig"/> (a bad configuration, or options that do not parse) or <see cref="Failed"/>.</returns>
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
            ParseResult parse = root.Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
            {
                // Options that cannot be parsed (such as --config without a file) are a bad configuration: one line.
                Console.Error.WriteLine($"bpfmap export: {string.Join(' ', parse.Errors[0].Message.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}");
                return BadConfig;
            }

            try
            {
                return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // ExporterHost reports what it expects itself; anything else is still one line, not a stack trace.
                Console.Error.WriteLine($"bpfmap export: {e.GetType().Name}: {e.Message}");
                return Failed;
            }
        }
    }
}
