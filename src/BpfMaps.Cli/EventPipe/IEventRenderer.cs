using BpfMaps.Events;

namespace BpfMaps.Cli.EventPipe;

/// <summary>
/// Writes the records of <c>event_pipe</c> in one output format as they arrive. Each format has its own
/// implementation, tested on its own with records made in memory.
/// </summary>
internal interface IEventRenderer
{
    /// <summary>Called once before the first record.</summary>
    void Begin();

    /// <summary>Writes one record.</summary>
    /// <param name="record">The record.</param>
    void Sample(in EventRecord record);

    /// <summary>Writes a lost report of a perf ring.</summary>
    /// <param name="cpu">The ring's CPU.</param>
    /// <param name="index">The ring's slot.</param>
    /// <param name="eventId">The ring's perf event id.</param>
    /// <param name="count">Samples lost.</param>
    void Lost(int cpu, int index, ulong eventId, ulong count);

    /// <summary>Pushes what was written to stdout (after each batch, so a reader sees records as they come).</summary>
    void Flush();

    /// <summary>Called once at the end (also after Ctrl+C or an error): closes what must be closed and flushes.</summary>
    void End();
}
