namespace BpfMaps.Programs;

/// <summary>How <see cref="EventProgram"/> writes its records.</summary>
public enum EventOutput
{
    /// <summary>bpf_ringbuf_reserve, fill in place, then bpf_ringbuf_submit or bpf_ringbuf_discard (Linux 5.8).</summary>
    RingbufReserve,

    /// <summary>bpf_ringbuf_output: the record is built on the stack and copied (Linux 5.8).</summary>
    RingbufOutput,

    /// <summary>bpf_perf_event_output to the current CPU's slot of a PERF_EVENT_ARRAY (Linux 4.4).</summary>
    PerfEventOutput,
}
