namespace BpfMaps.Events;

/// <summary>
/// The kernel's ring buffer layout (kernel/bpf/ringbuf.c), shared by BPF_MAP_TYPE_RINGBUF and
/// BPF_MAP_TYPE_USER_RINGBUF: at mmap offset 0 a page holding the consumer position, at one page the
/// producer position, then the data pages twice over, so a record that wraps the end is contiguous.
/// Positions are byte counters that only grow; a record is an 8-byte header (u32 length with the busy
/// and discard bits, u32 page offset) and its data, rounded up to 8 bytes.
/// </summary>
public static class RingLayout
{
    /// <summary>BPF_RINGBUF_BUSY_BIT: reserved, not yet submitted or discarded.</summary>
    public const uint BusyBit = 1u << 31;

    /// <summary>BPF_RINGBUF_DISCARD_BIT: discarded; the consumer skips it.</summary>
    public const uint DiscardBit = 1u << 30;

    /// <summary>BPF_RINGBUF_HDR_SZ.</summary>
    public const int HeaderSize = 8;

    /// <summary>The largest sample bpf_user_ringbuf_drain hands to its callback (a dynptr: 2^24 - 1 bytes).</summary>
    public const int MaxDynptrSize = (1 << 24) - 1;

    /// <summary>Bytes a record of <paramref name="size"/> data bytes takes in the ring: header plus data, rounded up to 8.</summary>
    public static ulong Total(uint size) => (size + (ulong)HeaderSize + 7) & ~7UL;

    /// <summary>The ring's page size: positions sit in pages of their own.</summary>
    public static int PageSize => Environment.SystemPageSize;

    /// <summary>Why a ring of <paramref name="dataSize"/> bytes is not one the kernel would have made, or null.</summary>
    public static string? CheckDataSize(long dataSize)
        => dataSize <= 0 || (dataSize & (dataSize - 1)) != 0 || dataSize % PageSize != 0
            ? $"a ring buffer's size (max_entries) must be a power of two and a multiple of the page size ({PageSize}); {dataSize} is not"
            : dataSize > int.MaxValue / 2
            ? $"ring buffers of more than {int.MaxValue / 2} bytes are not supported here; {dataSize} asked"
            : null;
}
