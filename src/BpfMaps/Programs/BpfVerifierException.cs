namespace BpfMaps.Programs;

/// <summary>
/// BPF_PROG_LOAD was refused, and the verifier said why: <see cref="VerifierLog"/> holds its
/// log (level 1), captured by loading again with a log buffer after the first refusal.
/// </summary>
public sealed class BpfVerifierException : BpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errno">The errno of the refusal (usually EACCES or EINVAL).</param>
    /// <param name="verifierLog">The verifier log.</param>
    /// <param name="truncated">Whether the log did not fit in the largest buffer tried.</param>
    public BpfVerifierException(int errno, string verifierLog, bool truncated)
        : base(errno, BpfCommand.BPF_PROG_LOAD, "the verifier rejected the program: " + LastLine(verifierLog) + (truncated ? " (log truncated)" : ""))
    {
        VerifierLog = verifierLog;
        Truncated = truncated;
    }

    /// <summary>Creates the exception with an empty log.</summary>
    public BpfVerifierException() : this(0, "", false)
    {
    }

    /// <summary>Creates the exception with a message; errno is 0.</summary>
    /// <param name="message">The message.</param>
    public BpfVerifierException(string message) : base(message)
    {
        VerifierLog = "";
    }

    /// <summary>Creates the exception with a message and cause; errno is 0.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BpfVerifierException(string message, Exception innerException) : base(message, innerException)
    {
        VerifierLog = "";
    }

    /// <summary>The verifier's log, as text.</summary>
    public string VerifierLog { get; }

    /// <summary>Whether the log was cut short (the kernel keeps the end of it).</summary>
    public bool Truncated { get; }

    private static string LastLine(string log)
    {
        // The verifier's final complaint sits just before the "processed N insns" summary, if any.
        string[] lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            if (!lines[i].StartsWith("processed ", StringComparison.Ordinal) && !lines[i].StartsWith("verification time", StringComparison.Ordinal)
                && !lines[i].StartsWith("stack depth", StringComparison.Ordinal))
            {
                return lines[i];
            }
        }

        return lines.Length > 0 ? lines[^1] : "(empty log)";
    }
}
