namespace BpfMaps.Cli;

/// <summary>
/// An expected, user-facing failure: printed as one line on stderr (no stack trace) and turned into
/// <see cref="Code"/>. Anything else that escapes a command is a bug and exits with <see cref="ExitCode.Failure"/>.
/// </summary>
internal sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="code">The exit code.</param>
    /// <param name="message">One line saying what went wrong and, where possible, what to do.</param>
    public CliException(ExitCode code, string message) : base(message) => Code = code;

    /// <summary>Creates a <see cref="ExitCode.Failure"/>.</summary>
    public CliException() : this(ExitCode.Failure, "failure")
    {
    }

    /// <summary>Creates a <see cref="ExitCode.Failure"/> with a message.</summary>
    /// <param name="message">The message.</param>
    public CliException(string message) : this(ExitCode.Failure, message)
    {
    }

    /// <summary>Creates a <see cref="ExitCode.Failure"/> with a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CliException(string message, Exception innerException) : base(message, innerException) => Code = ExitCode.Failure;

    /// <summary>The exit code.</summary>
    public ExitCode Code { get; }
}
