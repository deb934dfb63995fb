namespace BpfMaps.Programs;

/// <summary>Options of the ready-made event program (<see cref="EventProgram"/>).</summary>
public sealed record EventProgramOptions
{
    /// <summary>The shared defaults: reserve and submit 24-byte records from a tc program, none discarded.</summary>
    public static EventProgramOptions Default { get; } = new();

    /// <summary>How records are written.</summary>
    public EventOutput Output { get; init; } = EventOutput.RingbufReserve;

    /// <summary>
    /// Bytes per record: a multiple of 8 from <see cref="SequencedEvent.Size"/> (24) to 256. The words after the
    /// first 24 bytes repeat the sequence number, so a torn record shows.
    /// </summary>
    public int RecordSize { get; init; } = SequencedEvent.Size;

    /// <summary>
    /// With <see cref="EventOutput.RingbufReserve"/>: discard the records whose sequence number <c>s</c> has
    /// <c>s % DiscardEvery == DiscardEvery - 1</c> (0, the default: discard none). A consumer never sees them.
    /// </summary>
    public int DiscardEvery { get; init; }

    /// <summary>The flags of bpf_ringbuf_submit/discard/output: when to wake a waiting consumer.</summary>
    public RingBufferWakeup Wakeup { get; init; }

    /// <summary>
    /// <see cref="ProgramType.SchedCls"/> (default; its test runs are cheap per call, see <see cref="CounterProgramOptions.ProgramType"/>),
    /// <see cref="ProgramType.Xdp"/>, or <see cref="ProgramType.SocketFilter"/> (ring buffers only: socket filters have no perf output).
    /// </summary>
    public ProgramType ProgramType { get; init; } = ProgramType.SchedCls;

    /// <summary>What each run returns (TC_ACT_OK, 0, by default).</summary>
    public uint ReturnValue { get; init; }

    /// <summary>Program name (at most 15 characters).</summary>
    public string? Name { get; init; } = "event_seq";
}
