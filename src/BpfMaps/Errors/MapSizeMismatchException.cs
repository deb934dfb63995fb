namespace BpfMaps;

/// <summary>
/// A key, value or other buffer handed to a map has the wrong number of bytes for it. Thrown before
/// anything reaches the kernel; <see cref="Expected"/> and <see cref="Actual"/> say by how much.
/// </summary>
public sealed class MapSizeMismatchException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="paramName">The parameter that had the wrong size.</param>
    /// <param name="expected">The size the map needs, in bytes.</param>
    /// <param name="actual">The size given, in bytes.</param>
    public MapSizeMismatchException(string message, string? paramName, int expected, int actual)
        : base(message, paramName)
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Creates the exception.</summary>
    public MapSizeMismatchException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public MapSizeMismatchException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MapSizeMismatchException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>The size the map needs, in bytes.</summary>
    public int Expected { get; }

    /// <summary>The size given, in bytes.</summary>
    public int Actual { get; }
}
