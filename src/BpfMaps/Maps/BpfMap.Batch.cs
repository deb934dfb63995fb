namespace BpfMaps;

public sealed partial class BpfMap
{
    /// <summary>
    /// Reads the next entries after <paramref name="cursor"/> (BPF_MAP_LOOKUP_BATCH, 5.6).
    /// Hash tables return whole buckets only; a result with a short count is not the end,
    /// only <see cref="BatchResult.Exhausted"/> is, and it may come with entries.
    /// </summary>
    /// <param name="cursor">A cursor from <see cref="CreateCursor"/> of this map; advanced on success.</param>
    /// <param name="keys">Room for N keys (N * <see cref="KeySize"/> bytes).</param>
    /// <param name="values">Room for N values (N * <see cref="ValueBufferSize"/> bytes).</param>
    /// <param name="flags">Lock to copy under each value's spin lock.</param>
    /// <returns>The count and whether the map is exhausted.</returns>
    /// <exception cref="ArgumentException">Buffers of mismatched size, or a cursor of another map.</exception>
    /// <exception cref="BpfException">ENOSPC when a hash bucket holds more than N entries (nothing returned, cursor unchanged).</exception>
    /// <exception cref="BpfBatchException">Other failures, with the count the kernel processed.</exception>
    /// <exception cref="BpfNotSupportedException">The map type has no batch lookup (ENOTSUPP).</exception>
    public BatchResult LookupBatch(BatchCursor cursor, Span<byte> keys, Span<byte> values, LookupFlags flags = LookupFlags.None)
        => LookupBatchCore(delete: false, cursor, keys, values, CheckBatchBuffers(cursor, keys, values), (ulong)flags);

    /// <summary>
    /// Reads and deletes the next entries after <paramref name="cursor"/> (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6).
    /// On hash tables each bucket is read and deleted under its lock, so no update to a returned entry is lost.
    /// </summary>
    /// <param name="cursor">A cursor of this map; advanced on success.</param>
    /// <param name="keys">Room for N keys.</param>
    /// <param name="values">Room for N values.</param>
    /// <param name="flags">Lock to copy under each value's spin lock.</param>
    /// <returns>The count and whether the map is exhausted.</returns>
    /// <exception cref="ArgumentException">Buffers of mismatched size, or a cursor of another map.</exception>
    /// <exception cref="BpfException">ENOSPC when a bucket does not fit.</exception>
    /// <exception cref="BpfNotSupportedException">Arrays and other types without the command (ENOTSUPP).</exception>
    public BatchResult LookupAndDeleteBatch(BatchCursor cursor, Span<byte> keys, Span<byte> values, LookupFlags flags = LookupFlags.None)
        => LookupBatchCore(delete: true, cursor, keys, values, CheckBatchBuffers(cursor, keys, values), (ulong)flags);

    /// <summary>
    /// Writes <paramref name="count"/> entries (BPF_MAP_UPDATE_BATCH, 5.6).
    /// </summary>
    /// <param name="keys">count keys, back to back.</param>
    /// <param name="values">count values, back to back.</param>
    /// <param name="count">Entries to write; -1 for as many as <paramref name="keys"/> holds.</param>
    /// <param name="flags">Any or Lock: the kernel's batch update takes no NoExist/Exist (it returns EINVAL), every element is written as BPF_ANY.</param>
    /// <returns>Entries written (all of them).</returns>
    /// <exception cref="ArgumentException">Buffer sizes do not match, or NoExist/Exist was asked for.</exception>
    /// <exception cref="BpfBatchException">Failure part-way; <see cref="BpfBatchException.Processed"/> holds how many were written.</exception>
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, int count = -1, UpdateFlags flags = UpdateFlags.Any)
    {
        if ((flags & ~UpdateFlags.Lock) != 0)
        {
            BpfErrors.ThrowArgument(nameof(flags), $"BPF_MAP_UPDATE_BATCH takes only Lock in elem_flags, not {flags}; write single elements for NoExist/Exist");
        }

        int n = count < 0 ? KeyCount(keys) : count;
        CheckSpan(keys.Length, n, KeySize, nameof(keys));
        CheckSpan(values.Length, n, ValueBufferSize, nameof(values));
        uint c = (uint)n;
        int err = _backend.UpdateBatch(keys, values, ref c, (ulong)flags, 0);
        if (err != 0)
        {
            BpfErrors.ThrowBatch(err, BpfCommand.BPF_MAP_UPDATE_BATCH, Processed(err, c, n), Type);
        }

        return (int)c;
    }

    /// <summary>Deletes <paramref name="count"/> keys (BPF_MAP_DELETE_BATCH, 5.6). Stops at the first missing key.</summary>
    /// <param name="keys">count keys.</param>
    /// <param name="count">Keys to delete; -1 for as many as <paramref name="keys"/> holds.</param>
    /// <param name="flags">Lock flag.</param>
    /// <returns>Keys deleted (all of them).</returns>
    /// <exception cref="BpfBatchException">ENOENT at a missing key, with the number deleted before it.</exception>
    /// <exception cref="BpfNotSupportedException">Arrays (ENOTSUPP).</exception>
    public int DeleteBatch(ReadOnlySpan<byte> keys, int count = -1, LookupFlags flags = LookupFlags.None)
    {
        int n = count < 0 ? KeyCount(keys) : count;
        CheckSpan(keys.Length, n, KeySize, nameof(keys));
        uint c = (uint)n;
        int err = _backend.DeleteBatch(keys, ref c, (ulong)flags, 0);
        if (err != 0)
        {
            BpfErrors.ThrowBatch(err, BpfCommand.BPF_MAP_DELETE_BATCH, Processed(err, c, n), Type);
        }

        return (int)c;
    }

    /// <summary>
    /// The raw batch call behind <see cref="LookupBatch"/>: returns the errno instead of throwing
    /// and leaves the cursor alone unless the kernel moved it. For engines and differential tests.
    /// </summary>
    /// <param name="delete">Lookup-and-delete instead of lookup.</param>
    /// <param name="cursor">A cursor of this map.</param>
    /// <param name="keys">Keys buffer.</param>
    /// <param name="values">Values buffer.</param>
    /// <param name="count">In: capacity. Out: entries returned.</param>
    /// <param name="flags">elem_flags.</param>
    /// <returns>0 or errno.</returns>
    /// <exception cref="ArgumentException">A cursor of another map, a negative count, or a count the buffers cannot hold.</exception>
    public int LookupBatchOrErrno(bool delete, BatchCursor cursor, Span<byte> keys, Span<byte> values, ref int count, LookupFlags flags = LookupFlags.None)
    {
        CheckCursor(cursor);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        CheckSpan(keys.Length, count, KeySize, nameof(keys));
        CheckSpan(values.Length, count, ValueBufferSize, nameof(values));
        uint c = (uint)count;
        int err = _backend.LookupBatch(delete, cursor.InBatch, cursor.OutBatch, keys, values, ref c, (ulong)flags, 0);
        if (count > 0)
        {
            AdvanceCursor(cursor, err, (int)c);
        }

        count = (int)c;
        return err;
    }

    private BatchResult LookupBatchCore(bool delete, BatchCursor cursor, Span<byte> keys, Span<byte> values, int capacity, ulong flags)
    {
        uint c = (uint)capacity;
        int err = _backend.LookupBatch(delete, cursor.InBatch, cursor.OutBatch, keys, values, ref c, flags, 0);
        int count = (int)c;
        if (capacity == 0 && err == 0)
        {
            // The kernel returns at once for count 0 and leaves out_batch alone.
            return new BatchResult(0, false);
        }

        switch (ReadLookupBatchErrno(err, delete, c, capacity, mayFallBack: false))
        {
            case LookupBatchOutcome.TooSmall:
                throw LookupBatchTooSmall(delete, capacity);
            case var outcome:
                AdvanceCursor(cursor, err, count);
                return new BatchResult(count, outcome == LookupBatchOutcome.End);
        }
    }

    /// <summary>What a lookup batch's errno means; the one reading of it, for <see cref="LookupBatch"/> and the dump.</summary>
    internal enum LookupBatchOutcome
    {
        /// <summary>0: entries, and more may follow.</summary>
        Entries,

        /// <summary>ENOENT: the last entries; the map is done.</summary>
        End,

        /// <summary>ENOSPC: one hash bucket holds more entries than the buffers; grow them or give up.</summary>
        TooSmall,

        /// <summary>The command is missing for this map type or kernel (only when the caller can fall back).</summary>
        NoBatch,
    }

    /// <summary>
    /// Reads the errno of a BPF_MAP_LOOKUP(_AND_DELETE)_BATCH; throws for every errno that is a failure.
    /// With <paramref name="mayFallBack"/>, ENOTSUPP, EOPNOTSUPP and EINVAL say the command is missing
    /// (<see cref="LookupBatchOutcome.NoBatch"/>) instead of throwing.
    /// </summary>
    internal LookupBatchOutcome ReadLookupBatchErrno(int err, bool delete, uint returned, int capacity, bool mayFallBack)
    {
        switch (err)
        {
            case 0:
                return LookupBatchOutcome.Entries;
            case Errno.ENOENT:
                return LookupBatchOutcome.End;
            case Errno.ENOSPC:
                return LookupBatchOutcome.TooSmall;
            case Errno.ENOTSUPP or Errno.EOPNOTSUPP or Errno.EINVAL when mayFallBack:
                return LookupBatchOutcome.NoBatch;
            default:
                BpfErrors.ThrowBatch(err, LookupBatchCommand(delete), Processed(err, returned, capacity), Type);
                return default;
        }
    }

    /// <summary>ENOSPC with buffers that cannot grow: a hash bucket holds more than <paramref name="capacity"/> entries.</summary>
    internal static BpfException LookupBatchTooSmall(bool delete, int capacity)
        => new(Errno.ENOSPC, LookupBatchCommand(delete), $"batch size {capacity} too small: a hash bucket holds more entries; retry with a larger batch");

    private static BpfCommand LookupBatchCommand(bool delete)
        => delete ? BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH : BpfCommand.BPF_MAP_LOOKUP_BATCH;

    /// <summary>
    /// What a failed update/delete batch got done. The element that failed is never counted, so a
    /// count still equal to the request means the kernel refused before its loop (flag checks leave
    /// <c>count</c> untouched): nothing was processed. After EFAULT the count cannot be trusted.
    /// </summary>
    internal static int? Processed(int err, uint count, int requested)
        => err == Errno.EFAULT ? null : count >= (uint)requested ? 0 : (int)count;

    /// <summary>
    /// The kernel writes out_batch on every hash-table return (0, ENOENT, ENOSPC), but the generic
    /// code (arrays, tries) writes it only when it returned entries.
    /// </summary>
    internal void AdvanceCursor(BatchCursor cursor, int err, int count)
    {
        if (err is 0 or Errno.ENOENT or Errno.ENOSPC && (count > 0 || Type.IsHashTable()))
        {
            cursor.Advance(err == Errno.ENOENT);
        }
        else if (err == Errno.ENOENT)
        {
            cursor.MarkExhausted();
        }
    }

    private int CheckBatchBuffers(BatchCursor cursor, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values)
    {
        CheckCursor(cursor);
        int n = KeyCount(keys);
        CheckSpan(values.Length, n, ValueBufferSize, nameof(values));
        return n;
    }

    private void CheckCursor(BatchCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        if (!ReferenceEquals(cursor.Owner, this))
        {
            BpfErrors.ThrowArgument(nameof(cursor), $"the cursor belongs to map '{cursor.Owner.Name}' (id {cursor.Owner.Id}), not to '{Name}' (id {Id}); create one with CreateCursor()");
        }
    }

    private int KeyCount(ReadOnlySpan<byte> keys)
    {
        if (KeySize == 0)
        {
            return 0;
        }

        if (keys.Length % KeySize != 0)
        {
            BpfErrors.ThrowArgument(nameof(keys), $"keys buffer is {keys.Length} bytes, not a multiple of the key size {KeySize}");
        }

        return keys.Length / KeySize;
    }

    private static void CheckSpan(int length, int count, int elementSize, string name)
        => MapLayout.CheckEntries(length, count, elementSize, name);
}
