using System.Text.Json;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Hosting;

/// <summary>Runs one worker and turns what it throws into one stderr line and an exit code.</summary>
internal static class CommandRunner
{
    /// <summary>Runs <paramref name="work"/>.</summary>
    /// <param name="console">The console.</param>
    /// <param name="readOptions">Reads the shared options (can fail, e.g. a malformed --key-prefix).</param>
    /// <param name="work">The worker call.</param>
    /// <returns>The process exit code.</returns>
    public static int Execute(CliConsole console, Func<GlobalOptions> readOptions, Func<GlobalOptions, ExitCode> work)
    {
        GlobalOptions options = new();
        try
        {
            options = readOptions();
            ExitCode code = work(options);
            console.Stdout.Flush();
            return (int)code;
        }
        catch (Exception ex)
        {
            (ExitCode code, string message) = ErrorReport.Classify(ex);
            // JSON errors also go to stdout, as bpftool -j prints them.
            if ((options.Json || options.Pretty) && ex is not CliException { JsonWritten: true })
            {
                // bpftool -j prints errors as {"error": "..."} on stdout; scripts parsing stdout see it too.
                try
                {
                    using (var w = new Utf8JsonWriter(console.Stdout))
                    {
                        w.WriteStartObject();
                        w.WriteString("error", message);
                        w.WriteEndObject();
                    }

                    console.Stdout.Write("\n"u8);
                    console.Stdout.Flush();
                }
                catch (IOException)
                {
                }
            }
            else
            {
                try
                {
                    console.Stdout.Flush();
                }
                catch (IOException)
                {
                }
            }

            try
            {
                console.Stderr.WriteLine($"bpfmap: {message}");
                console.Stderr.Flush();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // Standard error is closed or full: the exit code is all that can be said.
            }

            return (int)code;
        }
    }
}
