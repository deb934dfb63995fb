namespace BpfMaps;

/// <summary>
/// An event source stopped being readable while it was read: the kernel hung up one of a perf buffer's events
/// (epoll reported EPOLLHUP or EPOLLERR, as when the event's CPU or PMU goes away), or a ring's records are corrupt
/// (a length or position no kernel writes). Records read before are not affected; a perf buffer's other rings still
/// work, a corrupt ring is not read again.
/// </summary>
public sealed class EventSourceGoneException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The source, as its ToString names it.</param>
    /// <param name="cpu">The CPU of the ring that is gone, or -1.</param>
    /// <param name="message">What happened.</param>
    public EventSourceGoneException(string source, int cpu, string message)
        : base(message)
    {
        SourceName = source;
        Cpu = cpu;
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public EventSourceGoneException(string message) : this("event source", -1, message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public EventSourceGoneException(string message, Exception innerException) : base(message, innerException)
    {
        SourceName = "event source";
        Cpu = -1;
    }

    /// <summary>Creates the exception.</summary>
    public EventSourceGoneException() : this("event source", -1, "the event source is gone")
    {
    }

    /// <summary>The source that is gone.</summary>
    public string SourceName { get; }

    /// <summary>The CPU of the ring that is gone, or -1.</summary>
    public int Cpu { get; }
}
