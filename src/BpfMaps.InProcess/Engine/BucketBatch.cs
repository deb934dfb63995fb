using System.Buffers.Binary;

namespace BpfMaps.InProcess.Engine;

/// <summary>What <see cref="BucketBatch.Run"/> asks of a hash table: its buckets, one at a time.</summary>
internal interface IBucketCopier
{
    /// <summary>The number of buckets, <c>roundup_pow_of_two(max_entries)</c>.</summary>
    uint Buckets { get; }

    /// <summary>
    /// Copies bucket <paramref name="bucket"/>, whole, to entry <paramref name="at"/> of the buffers,
    /// and with <paramref name="andDelete"/> empties it in the same locked step.
    /// </summary>
    /// <returns>Entries copied, 0 for an empty bucket, or -1 when they are more than <paramref name="room"/>.</returns>
    int Copy(uint bucket, bool andDelete, Span<byte> keys, Span<byte> values, uint at, uint room);
}

/// <summary>
/// htab's lookup (and lookup-and-delete) batch protocol, shared by the hash table layouts: whole
/// buckets only, and the cursor is a bucket index. A bucket that does not fit ends the call, with
/// ENOSPC if nothing was copied yet. Empty buckets are skipped even once the count is full, so a
/// batch that takes the last entries reports ENOENT.
/// </summary>
internal static class BucketBatch
{
    /// <summary>Runs one batch call over <paramref name="table"/>'s buckets; returns 0 or errno.</summary>
    /// <typeparam name="T">A struct, so each table's <see cref="IBucketCopier.Copy"/> is called directly and can be inlined.</typeparam>
    public static int Run<T>(T table, bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        where T : struct, IBucketCopier
    {
        if (elemFlags != 0 || flags != 0)
        {
            return Errno.EINVAL;
        }

        uint max = count;
        if (max == 0)
        {
            return 0;
        }

        count = 0;
        uint batch = 0;
        if (!inBatch.IsEmpty)
        {
            if (inBatch.Length < 4)
            {
                return Errno.EFAULT;
            }

            batch = BinaryPrimitives.ReadUInt32LittleEndian(inBatch);
        }

        uint buckets = table.Buckets;
        if (batch >= buckets)
        {
            return Errno.ENOENT;
        }

        if (outBatch.Length < 4)
        {
            return Errno.EFAULT;
        }

        uint total = 0;
        int ret = 0;
        while (true)
        {
            int copied = table.Copy(batch, andDelete, keys, values, total, max - total);
            if (copied < 0)
            {
                if (total == 0)
                {
                    ret = Errno.ENOSPC;
                }

                break;
            }

            total += (uint)copied;
            if (++batch >= buckets)
            {
                ret = Errno.ENOENT;
                break;
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(outBatch, batch);
        count = total;
        return ret;
    }
}
