namespace BpfMaps;

public sealed partial class BpfMap
{
    /// <summary>
    /// Streams every entry (BPF_MAP_LOOKUP_BATCH where available, 5.6; else BPF_MAP_GET_NEXT_KEY plus
    /// BPF_MAP_LOOKUP_ELEM). Buffers are pooled and grown on ENOSPC; nothing is allocated per entry.
    /// </summary>
    /// <remarks>
    /// Under concurrent writers, a pass emits no key twice. The batch command reads each hash bucket
    /// under its lock, so every key in the map for the whole pass is emitted exactly once. The
    /// get_next_key walk emits exactly once every key in the map for the whole pass whose element is
    /// not replaced during it (on hash and LRU hash maps an update replaces the element); keys
    /// inserted, deleted or replaced during the pass may or may not be emitted. The walk goes on past
    /// the kernel's restarts (<see cref="RestartPolicy.ResumeFromEarlierKey"/>), so with the default
    /// options a pass completes unless writers delete far faster than it walks
    /// (<see cref="DumpOptions.MaxRestarts"/>). See docs/dump-drain.md.
    /// </remarks>
    /// <param name="options">Batch size, method and restart policy; null for the defaults.</param>
    /// <returns>An enumerable for foreach; each <see cref="MapEntry"/> is valid until the next step.</returns>
    /// <exception cref="MapIterationRestartedException">Thrown during enumeration, after the entries read before it, when a get_next_key walk restarts under <see cref="RestartPolicy.Fail"/>, or more than <see cref="DumpOptions.MaxRestarts"/> times; it says how many keys were emitted.</exception>
    /// <exception cref="BpfException">Thrown during enumeration for kernel errors.</exception>
    public MapEntries Dump(DumpOptions? options = null) => new(this, options ?? DumpOptions.Default, drain: false);

    /// <summary>
    /// Streams and deletes every entry (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6: each hash bucket is read
    /// and emptied under its lock, so no update to a returned entry is lost). Without the batch command
    /// it walks with BPF_MAP_GET_NEXT_KEY and takes entries one by one with BPF_MAP_LOOKUP_AND_DELETE_ELEM
    /// (5.14; lookup then delete before, which is not atomic). Arrays need
    /// <see cref="ArrayDrainMode.ReadThenZero"/>, which is not atomic.
    /// </summary>
    /// <remarks>
    /// A drain is one pass, like a dump: it emits no key twice, ends, and takes every key that is in the
    /// map when it starts and that nothing else deletes (for the walk: or replaces) before it gets
    /// there. Keys inserted behind the pass, or inserted again after it took them, stay for the next drain. The walk asks for a key's successor
    /// before it takes the key, so its own deletions do not send it back to the first key.
    /// See docs/dump-drain.md.
    /// </remarks>
    /// <param name="options">Options; null for the defaults.</param>
    /// <returns>An enumerable for foreach.</returns>
    /// <exception cref="NotSupportedException">An array without <see cref="ArrayDrainMode.ReadThenZero"/>.</exception>
    /// <exception cref="MapIterationRestartedException">Thrown during enumeration, after the entries taken before it, when a get_next_key walk restarts under <see cref="RestartPolicy.Fail"/>, or more than <see cref="DumpOptions.MaxRestarts"/> times.</exception>
    /// <exception cref="BpfException">Thrown during enumeration for kernel errors.</exception>
    public MapEntries Drain(DumpOptions? options = null)
    {
        var opts = options ?? DumpOptions.Default;
        ThrowIfCannotDrain(opts);
        return new(this, opts, drain: true);
    }

    /// <summary>The one refusal to drain an array: its elements cannot be deleted, only read and zeroed when asked.</summary>
    internal void ThrowIfCannotDrain(DumpOptions options)
    {
        if (Type.IsArray() && options.ArrayDrain != ArrayDrainMode.ReadThenZero)
        {
            throw new NotSupportedException(
                $"{Type.KernelName()} elements cannot be deleted; pass ArrayDrain = ReadThenZero to read and zero them (not atomic), or use a swap drain");
        }
    }

    /// <summary>
    /// Counts the entries by reading the whole map: a full dump (batch lookups, or a get_next_key walk), so it
    /// costs as much as <see cref="Dump"/>. The kernel keeps no count; under concurrent writers the result is
    /// the number a dump saw, not a snapshot.
    /// </summary>
    /// <returns>The number of entries.</returns>
    /// <exception cref="BpfException">Kernel errors during the dump.</exception>
    public long CountEntries()
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
