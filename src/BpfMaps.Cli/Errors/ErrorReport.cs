using BpfMaps.Btf;

namespace BpfMaps.Cli.Errors;

/// <summary>Turns whatever a command threw into one stderr line and an exit code. The only such switch in the CLI.</summary>
internal static class ErrorReport
{
    /// <summary>Classifies <paramref name="ex"/>.</summary>
    /// <param name="ex">The exception.</param>
    /// <returns>The exit code and the line to print (without the <c>bpfmap: </c> prefix).</returns>
    public static (ExitCode Code, string Message) Classify(Exception ex) => ex switch
    {
        CliException c => (c.Code, c.Message),
        OutputWriteException o => (ExitCode.OutputFailed, OneLine(o.Message)),
        BpfNotSupportedException n => (ExitCode.NotSupported, n.Message),
        EventSourceGoneException g => (ExitCode.EventsGone, OneLine(g.Message)),
        MapNotFoundException m => (ExitCode.MapNotFound, OneLine(m.Message)),
        AmbiguousMapSelectorException a => (ExitCode.BadSelector, a.Message),
        BpfException { Errno: Errno.EPERM or Errno.EACCES } b => (ExitCode.PermissionDenied, $"permission denied ({b.Command}): run as root or with CAP_BPF and CAP_SYS_ADMIN"),
        BpfException { Errno: Errno.ENOENT, FailedCommand: BpfCommand.BPF_OBJ_GET or BpfCommand.BPF_MAP_GET_FD_BY_ID } b => (ExitCode.MapNotFound, OneLine(b.Hint ?? b.Message)),
        BpfException { Errno: Errno.ENOTDIR or Errno.ENAMETOOLONG or Errno.ELOOP, FailedCommand: BpfCommand.BPF_OBJ_GET } b => (ExitCode.MapNotFound, $"no pinned map there: {OneLine(b.Hint ?? b.Message)}"),
        BpfException { Errno: Errno.ENOENT, FailedCommand: BpfCommand.BPF_BTF_GET_FD_BY_ID } b => (ExitCode.NoBtf, OneLine(b.Hint ?? b.Message)),
        BpfException b => (ExitCode.KernelError, OneLine(b.Message)),
        BpfMaps.Btf.BtfException t => (ExitCode.BadBtf, OneLine(t.Message)),
        MapSizeMismatchException s => (ExitCode.SizeMismatch, OneLine(StripParam(s.Message))),
        ArgumentException a => (ExitCode.Usage, OneLine(StripParam(a.Message))),
        NotSupportedException n => (ExitCode.NotSupported, OneLine(n.Message)),
        OperationCanceledException => (ExitCode.Interrupted, "interrupted"),
        MapIterationRestartedException r => (ExitCode.KernelError, OneLine(r.Message)),
        _ => (ExitCode.Failure, $"internal error: {ex.GetType().Name}: {OneLine(ex.Message)}"),
    };

    private static string StripParam(string message)
    {
        int i = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return i < 0 ? message : message[..i];
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
