using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BpfMaps.Programs;

/// <summary>
/// The record <see cref="EventProgram"/> writes: the CPU that wrote it, its size, a sequence number that counts
/// the records each CPU had accepted before it (0, 1, 2, ... per CPU), and a check word (the sequence number
/// inverted). Records longer than 24 bytes repeat the sequence number in every further 8-byte word.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public readonly record struct SequencedEvent
{
    /// <summary>Bytes of the fixed part.</summary>
    public const int Size = 24;

    /// <summary>The CPU the program ran on (bpf_get_smp_processor_id).</summary>
    public uint Cpu { get; init; }

    /// <summary>The record's size in bytes.</summary>
    public uint RecordSize { get; init; }

    /// <summary>Records this CPU had accepted (reserved or output) before this one.</summary>
    public ulong Sequence { get; init; }

    /// <summary><c>~Sequence</c>.</summary>
    public ulong Check { get; init; }

    /// <summary>
    /// Reads a record and checks that it is whole: its length matches its size field, the check word matches and
    /// every further word repeats the sequence number. A perf sample's data is accepted with the padding the kernel
    /// adds to it (it rounds the sample's 4-byte size field plus the data up to 8 bytes), and only that.
    /// </summary>
    /// <param name="record">The record's bytes (a ring buffer record, or a perf sample's data).</param>
    /// <param name="value">The fixed part, as far as it could be read.</param>
    /// <returns>Whether the record is intact (not torn, not corrupted).</returns>
    public static bool TryRead(ReadOnlySpan<byte> record, out SequencedEvent value)
    {
        value = default;
        if (record.Length < Size)
        {
            return false;
        }

        value = MemoryMarshal.Read<SequencedEvent>(record);
        if (value.RecordSize != record.Length && !IsPerfPadding(record, value.RecordSize))
        {
            return false;
        }

        record = record[..(int)value.RecordSize];
        if (value.Check != ~value.Sequence)
        {
            return false;
        }

        for (int off = Size; off + 8 <= record.Length; off += 8)
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(record[off..]) != value.Sequence)
            {
                return false;
            }
        }

        return true;
    }

    // bpf_perf_event_output pads the raw data so that the u32 size field and the data end on an 8-byte boundary; the
    // kernel skips the padding without writing it, so it holds whatever the ring held there.
    private static bool IsPerfPadding(ReadOnlySpan<byte> record, uint size)
        => size < record.Length && ((size + 4 + 7) & ~7u) - 4 == record.Length;
}

/// <summary>One CPU's counters in the state map of <see cref="EventProgram"/>.</summary>
/// <param name="Accepted">Records the ring (or perf buffer) took: the next sequence number.</param>
/// <param name="Dropped">Runs whose record did not fit (the ring was full) or had nowhere to go.</param>
public readonly record struct EventProducerCounters(ulong Accepted, ulong Dropped);
