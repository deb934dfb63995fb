namespace BpfMaps.Programs;

/// <summary>The wake-up flags of bpf_ringbuf_submit, bpf_ringbuf_discard and bpf_ringbuf_output.</summary>
public enum RingBufferWakeup
{
    /// <summary>0: wake a waiting consumer when it had caught up with this record (the kernel's adaptive default).</summary>
    Default = 0,

    /// <summary>BPF_RB_NO_WAKEUP: never wake the consumer for this record.</summary>
    None = 1,

    /// <summary>BPF_RB_FORCE_WAKEUP: always wake the consumer.</summary>
    Force = 2,
}
