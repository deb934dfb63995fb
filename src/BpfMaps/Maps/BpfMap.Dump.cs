namespace BpfMaps;

public sealed partial class BpfMap
{
    /// <summary>
    /// Streams every entry (BPF_MAP_LOOKUP_BATCH where available, 5.6; else BPF_MAP_GET_NEXT_KEY
    /// with restart detection). Buffers are pooled and grown on ENOSPC; nothing is allocated per entry.
    /// </summary>
    /// <param name="options">Batch size, method and restart policy; null for the defaults.</param>
    /// <returns>An enumerable for foreach; each <see cref="MapEntry"/> is valid until the next step.</returns>
    /// <exception cref="MapIterationRestartedException">Thrown during enumeration when a get_next_key walk restarts under <see cref="RestartPolicy.Fail"/>, or too often.</exception>
    /// <exception cref="BpfException">Thrown during enumeration for kernel errors.</exception>
    public MapEntries Dump(DumpOptions? options = null) => new(this, options ?? DumpOptions.Default, drain: false);

    /// <summary>
    /// Streams and deletes every entry (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6: each hash bucket is read
    /// and emptied under its lock, so no update to a returned entry is lost). Without the batch command
    /// it takes entries one by one with BPF_MAP_LOOKUP_AND_DELETE_ELEM (5.14). Arrays need
    /// <see cref="ArrayDrainMode.ReadThenZero"/>, which is not atomic.
    /// </summary>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>An enumerable for foreach.</returns>
    /// <exception cref="NotSupportedException">An array without <see cref="ArrayDrainMode.ReadThenZero"/>.</exception>
    public MapEntries Drain(DumpOptions? options = null)
    {
        var opts = options ?? DumpOptions.Default;
        if (Type.IsArray() && opts.ArrayDrain != ArrayDrainMode.ReadThenZero)
        {
            throw new NotSupportedException(
                $"{Type.KernelName()} elements cannot be deleted; pass ArrayDrain = ReadThenZero to read and zero them (not atomic), or use a swap drain");
        }

        return new(this, opts, drain: true);
    }

    /// <summary>Counts the entries by dumping the map.</summary>
    /// <returns>The number of entries.</returns>
    public long Count()
    {
        long n = 0;
        using var e = Dump().GetEnumerator();
        while (e.MoveNextBatch())
        {
            n += e.BatchCount;
        }

        return n;
    }
}
