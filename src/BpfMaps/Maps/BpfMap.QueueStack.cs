using System.Buffers;

namespace BpfMaps;

// Queue, stack and bloom filter maps have no keys (key_size 0). The kernel reaches them through the
// element commands with a null key: UPDATE_ELEM pushes, LOOKUP_ELEM peeks (for a bloom filter: tests the
// value passed in), LOOKUP_AND_DELETE_ELEM pops. These methods give those calls their own names.
public sealed partial class BpfMap
{
    /// <summary>
    /// Pushes <paramref name="value"/> onto a queue or stack, or adds it to a bloom filter
    /// (BPF_MAP_UPDATE_ELEM without a key; queue and stack Linux 4.20, bloom filter 5.16).
    /// </summary>
    /// <param name="value"><see cref="ValueSize"/> bytes.</param>
    /// <param name="flags">
    /// <see cref="UpdateFlags.Any"/>: a full queue or stack refuses the value with E2BIG.
    /// <see cref="UpdateFlags.Exist"/> (queue and stack only): when full, the oldest element is dropped to make room
    /// (the head of a queue, the bottom of a stack). Bloom filters take <see cref="UpdateFlags.Any"/> only.
    /// </param>
    /// <exception cref="InvalidOperationException">The map is not a queue, stack or bloom filter.</exception>
    /// <exception cref="ArgumentException">Wrong value size, or flags the map type does not take (the kernel would say EINVAL).</exception>
    /// <exception cref="BpfException">E2BIG: the queue or stack is full; EPERM: the map is frozen or read-only.</exception>
    public void Push(ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        RequireKeyless(nameof(Push), allowBloomFilter: true);
        CheckValue(value.Length);
        CheckPushFlags(flags);
        int err = _backend.Update(default, value, (ulong)flags);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_UPDATE_ELEM, Type);
        }
    }

    /// <summary>
    /// Copies the element a pop would return, without removing it: the oldest of a queue, the newest of a
    /// stack (BPF_MAP_LOOKUP_ELEM without a key, Linux 4.20).
    /// </summary>
    /// <param name="value"><see cref="ValueSize"/> bytes; receives the element.</param>
    /// <returns>False when the map is empty (ENOENT).</returns>
    /// <exception cref="InvalidOperationException">The map is not a queue or stack (for a bloom filter use <see cref="MayContain"/>).</exception>
    /// <exception cref="ArgumentException">Wrong value size.</exception>
    /// <exception cref="BpfException">Other kernel errors (EPERM for a write-only map).</exception>
    public bool TryPeek(Span<byte> value)
    {
        RequireKeyless(nameof(TryPeek), allowBloomFilter: false);
        CheckValue(value.Length);
        int err = _backend.Lookup(default, value, 0);
        if (err == Errno.ENOENT)
        {
            return false;
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_LOOKUP_ELEM, Type);
        }

        return true;
    }

    /// <summary>
    /// Removes and copies the oldest element of a queue or the newest of a stack
    /// (BPF_MAP_LOOKUP_AND_DELETE_ELEM without a key, Linux 4.20).
    /// </summary>
    /// <param name="value"><see cref="ValueSize"/> bytes; receives the element.</param>
    /// <returns>False when the map is empty (ENOENT).</returns>
    /// <exception cref="InvalidOperationException">The map is not a queue, stack or bloom filter.</exception>
    /// <exception cref="ArgumentException">Wrong value size.</exception>
    /// <exception cref="BpfNotSupportedException">A bloom filter: no kernel removes elements from one (ENOTSUPP).</exception>
    /// <exception cref="BpfException">EPERM: the map is frozen or read-only.</exception>
    public bool TryPop(Span<byte> value)
    {
        RequireKeyless(nameof(TryPop), allowBloomFilter: true);
        CheckValue(value.Length);
        int err = _backend.LookupAndDelete(default, value, 0);
        if (err == Errno.ENOENT)
        {
            return false;
        }

        if ((err is Errno.ENOTSUPP or Errno.EOPNOTSUPP) && Type == MapType.BloomFilter)
        {
            // No kernel version pops a bloom filter, so there is no minimum kernel to name.
            throw new BpfNotSupportedException($"BPF_MAP_LOOKUP_AND_DELETE_ELEM on {Type} (a bloom filter cannot give elements back)", null, err, BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM);
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM, Type);
        }

        return true;
    }

    /// <summary>
    /// Tests whether a bloom filter may contain <paramref name="value"/> (BPF_MAP_LOOKUP_ELEM without a key,
    /// the value as input, Linux 5.16). False means the value was never pushed. True means it probably was:
    /// bloom filters give false positives (more often as the filter holds more than its max_entries, or with
    /// fewer hash functions, <see cref="MapSpec.MapExtra"/>), never false negatives.
    /// </summary>
    /// <param name="value"><see cref="ValueSize"/> bytes; only read.</param>
    /// <returns>False when the value is definitely absent (ENOENT); true when it may be present.</returns>
    /// <exception cref="InvalidOperationException">The map is not a bloom filter.</exception>
    /// <exception cref="ArgumentException">Wrong value size.</exception>
    /// <exception cref="BpfException">Other kernel errors (EPERM for a write-only map).</exception>
    public bool MayContain(ReadOnlySpan<byte> value)
    {
        if (Type != MapType.BloomFilter)
        {
            throw new InvalidOperationException($"{Type} is not a bloom filter: {nameof(MayContain)} tests bloom filter membership{(IsQueueOrStack(Type) ? "; read a queue or stack with TryPeek" : "")}");
        }

        CheckValue(value.Length);

        // The kernel reads the value from the lookup's value buffer and writes nothing back, but the
        // backend contract takes a writable buffer, so the caller's bytes are copied into one.
        byte[]? rented = value.Length > 256 ? ArrayPool<byte>.Shared.Rent(value.Length) : null;
        try
        {
            Span<byte> probe = rented is null ? stackalloc byte[value.Length] : rented.AsSpan(0, value.Length);
            value.CopyTo(probe);
            int err = _backend.Lookup(default, probe, 0);
            if (err == Errno.ENOENT)
            {
                return false;
            }

            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_MAP_LOOKUP_ELEM, Type);
            }

            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool IsQueueOrStack(MapType type) => type is MapType.Queue or MapType.Stack;

    private void RequireKeyless(string operation, bool allowBloomFilter)
    {
        if (IsQueueOrStack(Type) || (allowBloomFilter && Type == MapType.BloomFilter))
        {
            return;
        }

        string hint = Type == MapType.BloomFilter ? $"; test a bloom filter with {nameof(MayContain)}" : "";
        throw new InvalidOperationException($"{Type} is not a queue or stack{(allowBloomFilter ? " or bloom filter" : "")}: {operation} takes the element without a key{hint}");
    }

    // queue_stack_maps.c takes BPF_ANY or BPF_EXIST (and nothing else); bloom_filter.c takes BPF_ANY only.
    private void CheckPushFlags(UpdateFlags flags)
    {
        if (Type == MapType.BloomFilter && flags != UpdateFlags.Any)
        {
            BpfErrors.ThrowArgument(nameof(flags), $"a bloom filter push takes UpdateFlags.Any only, not {flags}");
        }

        if (flags is not (UpdateFlags.Any or UpdateFlags.Exist))
        {
            BpfErrors.ThrowArgument(nameof(flags), $"a {Type} push takes UpdateFlags.Any or UpdateFlags.Exist (drop the oldest when full), not {flags}");
        }
    }
}
