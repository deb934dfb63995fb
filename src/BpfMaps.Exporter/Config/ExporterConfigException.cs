namespace BpfMaps.Exporter;

/// <summary>
/// The configuration is wrong: an unknown field, a malformed selector or decoder, a map that
/// does not exist or does not fit its decoders. The message is one line that starts with the
/// field's path, e.g. <c>maps[0].labels[1].type: unknown decoder 'u24' (expected one of ...)</c>.
/// </summary>
public sealed class ExporterConfigException : Exception
{
    /// <summary>Creates the exception for a field.</summary>
    /// <param name="path">The field's path (<c>maps[0].metrics[1].kind</c>), or empty for the whole file.</param>
    /// <param name="problem">What is wrong with it.</param>
    public ExporterConfigException(string path, string problem)
        : base(path.Length == 0 ? problem : $"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>Creates the exception with a message.</summary>
    public ExporterConfigException() : this("", "invalid configuration")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ExporterConfigException(string message) : this("", message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ExporterConfigException(string message, Exception innerException) : base(message, innerException)
    {
        Path = "";
        Problem = message;
    }

    /// <summary>The path of the offending field, or empty.</summary>
    public string Path { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }
}
