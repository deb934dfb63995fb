namespace BpfMaps.Cli.Errors;

/// <summary>Writing the command's output failed (closed, full, or a reader that went away).</summary>
internal sealed class OutputWriteException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The one-line message.</param>
    /// <param name="inner">The cause.</param>
    public OutputWriteException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
