using System.Text;
using Spectre.Console;

namespace BpfMaps.Cli.Hosting;

/// <summary>
/// The process's standard streams as the commands see them: a buffered stdout stream, stderr, and
/// whether each is a terminal. Tests pass in-memory streams.
/// </summary>
internal sealed class CliConsole
{
    private IAnsiConsole? _out;
    private IAnsiConsole? _err;

    /// <summary>Creates a console over the given streams.</summary>
    /// <param name="stdout">Standard output (buffered by the caller if wanted).</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="stdoutIsTerminal">Whether stdout is a terminal (chooses the table format).</param>
    /// <param name="stderrIsTerminal">Whether stderr is a terminal (enables progress bars).</param>
    /// <param name="width">Console width for tables, or null to detect.</param>
    public CliConsole(Stream stdout, TextWriter stderr, bool stdoutIsTerminal, bool stderrIsTerminal, int? width = null)
    {
        Stdout = stdout;
        Stderr = stderr;
        StdoutIsTerminal = stdoutIsTerminal;
        StderrIsTerminal = stderrIsTerminal;
        Width = width;
    }

    /// <summary>
    /// The real process streams: stdout buffered in 256 KiB writes. When stdout is a pipe it is grown to
    /// 1 MiB (F_SETPIPE_SZ; silently left alone where not allowed), so a big dump wakes the reader a
    /// sixteenth as often.
    /// </summary>
    /// <returns>The console.</returns>
    public static CliConsole System()
    {
        if (Console.IsOutputRedirected)
        {
            _ = Interop.Fcntl.Call(1, Interop.Fcntl.F_SETPIPE_SZ, 1 << 20);
        }

        return new(
            new BufferedStream(new OutputStream(Console.OpenStandardOutput(), "standard output"), 1 << 18),
            Console.Error,
            !Console.IsOutputRedirected,
            !Console.IsErrorRedirected)
        { IsProcessConsole = true };
    }

    /// <summary>Whether these are the process's own streams (<see cref="System"/>), not a caller's, such as a test's.</summary>
    public bool IsProcessConsole { get; private init; }

    /// <summary>Standard output.</summary>
    public Stream Stdout { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Stderr { get; }

    /// <summary>Whether stdout is a terminal.</summary>
    public bool StdoutIsTerminal { get; }

    /// <summary>Whether stderr is a terminal.</summary>
    public bool StderrIsTerminal { get; }

    /// <summary>Fixed width, or null.</summary>
    public int? Width { get; }

    /// <summary>A Spectre console over stdout.</summary>
    public IAnsiConsole Out => _out ??= Create(new StreamWriter(Stdout, new UTF8Encoding(false), 4096, leaveOpen: true) { AutoFlush = true }, StdoutIsTerminal);

    /// <summary>A Spectre console over stderr (progress bars).</summary>
    public IAnsiConsole Err => _err ??= Create(Stderr, StderrIsTerminal);

    private IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            // We know which stream is a terminal; Spectre's own detection looks at stdout only.
            Ansi = terminal ? AnsiSupport.Yes : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (Width is { } w)
        {
            console.Profile.Width = w;
        }

        return console;
    }
}
