namespace BpfMaps.Btf;

/// <summary>
/// A BTF blob is malformed, or a type cannot be used the way it was asked for. The message names the
/// byte offset in the blob or the type id where the problem is.
/// </summary>
public sealed class BtfException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public BtfException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public BtfException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BtfException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Byte offset in the blob where the problem was found, when known.</summary>
    public long? Offset { get; init; }

    /// <summary>The type id the problem belongs to, when known.</summary>
    public uint? TypeId { get; init; }

    internal static BtfException AtOffset(long offset, string what) => new($"BTF: {what} (at byte offset {offset})") { Offset = offset };

    internal static BtfException AtType(uint id, string what) => new($"BTF: type id {id}: {what}") { TypeId = id };
}
