namespace BpfMaps.Cli.Errors;

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

    /// <summary>Creates the exception for a failure whose JSON answer is already on stdout.</summary>
    /// <param name="code">The exit code.</param>
    /// <param name="message">The stderr line.</param>
    /// <param name="jsonWritten">True when stdout already holds the JSON answer (bpftool's <c>null</c> for a missing key).</param>
    public CliException(ExitCode code, string message, bool jsonWritten) : this(code, message) => JsonWritten = jsonWritten;

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

    /// <summary>Whether stdout already holds the JSON answer, so no <c>{"error": ...}</c> object is added.</summary>
    public bool JsonWritten { get; }
}
