namespace BpfMaps.Asm;

/// <summary>Numbers of the kernel helpers the builder names (<c>enum bpf_func_id</c>). Any other number can be cast.</summary>
public enum HelperFunction
{
    /// <summary>bpf_map_lookup_elem(map, key): pointer to the value, or NULL. R1 = map, R2 = key pointer.</summary>
    MapLookupElem = 1,
    /// <summary>bpf_map_update_elem(map, key, value, flags): 0 or a negative errno.</summary>
    MapUpdateElem = 2,
    /// <summary>bpf_map_delete_elem(map, key): 0 or a negative errno.</summary>
    MapDeleteElem = 3,
    /// <summary>bpf_ktime_get_ns(): monotonic time in ns.</summary>
    KtimeGetNs = 5,
    /// <summary>bpf_get_prandom_u32(): a pseudo-random u32.</summary>
    GetPrandomU32 = 7,
    /// <summary>bpf_get_smp_processor_id(): the current CPU.</summary>
    GetSmpProcessorId = 8,
    /// <summary>
    /// bpf_perf_event_output(ctx, map, flags, data, size): copies <c>size</c> bytes to the perf event of a
    /// PERF_EVENT_ARRAY; flags BPF_F_CURRENT_CPU (0xffffffff, zero-extended) picks the current CPU's slot. 0 or a negative errno
    /// (-ENOENT when no perf event is set there). R1 = ctx, R2 = map, R3 = flags, R4 = data pointer, R5 = size.
    /// </summary>
    PerfEventOutput = 25,
    /// <summary>bpf_ringbuf_output(ringbuf, data, size, flags): reserves, copies and submits a record (Linux 5.8). 0, or -EAGAIN when the ring is full.</summary>
    RingbufOutput = 130,
    /// <summary>
    /// bpf_ringbuf_reserve(ringbuf, size, flags): room for a record of a constant size, or NULL when the ring is full
    /// (Linux 5.8). The verifier requires every path to submit or discard what it reserved. flags must be 0.
    /// </summary>
    RingbufReserve = 131,
    /// <summary>bpf_ringbuf_submit(data, flags): publishes a reserved record (flags: BPF_RB_NO_WAKEUP 1, BPF_RB_FORCE_WAKEUP 2).</summary>
    RingbufSubmit = 132,
    /// <summary>bpf_ringbuf_discard(data, flags): gives a reserved record up; the consumer skips it.</summary>
    RingbufDiscard = 133,
    /// <summary>bpf_ringbuf_query(ringbuf, flags): BPF_RB_AVAIL_DATA 0, BPF_RB_RING_SIZE 1, BPF_RB_CONS_POS 2, BPF_RB_PROD_POS 3.</summary>
    RingbufQuery = 134,
    /// <summary>bpf_dynptr_read(dst, len, src, offset, flags): copies <c>len</c> bytes out of a dynptr (Linux 5.19). 0 or a negative errno.</summary>
    DynptrRead = 201,
    /// <summary>
    /// bpf_user_ringbuf_drain(map, callback, ctx, flags): calls <c>callback(dynptr, ctx)</c> for each record of a
    /// USER_RINGBUF map, up to 128Ki of them, until the callback returns 1 (Linux 6.1). R2 is a callback loaded with
    /// <see cref="InstructionBuilder.LoadFunction"/>. Returns the records drained, or a negative errno.
    /// </summary>
    UserRingbufDrain = 209,
}
