using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps;

public sealed partial class BpfMap
{
    /// <summary>Looks up <paramref name="key"/> (BPF_MAP_LOOKUP_ELEM, Linux 3.18; Lock 5.1).</summary>
    /// <param name="key"><see cref="KeySize"/> bytes.</param>
    /// <param name="value"><see cref="ValueBufferSize"/> bytes; receives the value (per-CPU maps: every CPU's, at <see cref="ValueStride"/>).</param>
    /// <param name="flags"><see cref="LookupFlags.Lock"/> to copy under the value's spin lock.</param>
    /// <returns>False when the key is absent.</returns>
    /// <exception cref="ArgumentException">Wrong key or value size.</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags = LookupFlags.None)
    {
        int err = LookupOrErrno(key, value, flags);
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

    /// <summary>Creates or replaces the value of <paramref name="key"/> (BPF_MAP_UPDATE_ELEM, Linux 3.18; Lock 5.1).</summary>
    /// <param name="key"><see cref="KeySize"/> bytes.</param>
    /// <param name="value"><see cref="ValueBufferSize"/> bytes (map-in-map: the inner map's fd as u32; see <see cref="SetInnerMap"/>).</param>
    /// <param name="flags">Any, NoExist (EEXIST if present), Exist (ENOENT if absent), optionally with Lock.</param>
    /// <exception cref="ArgumentException">Wrong key or value size.</exception>
    /// <exception cref="BpfException">EEXIST, ENOENT, E2BIG (full), EINVAL (bad flags), EPERM (frozen/read-only).</exception>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckKey(key);
        CheckValue(value.Length);
        int err = _backend.Update(key, value, (ulong)flags);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_UPDATE_ELEM, Type);
        }
    }

    /// <summary>Like <see cref="Update"/>, but returns the errno instead of throwing for kernel errors.</summary>
    /// <param name="key"><see cref="KeySize"/> bytes.</param>
    /// <param name="value"><see cref="ValueBufferSize"/> bytes.</param>
    /// <param name="flags">Update flags.</param>
    /// <returns>0 or errno (EEXIST, ENOENT, E2BIG, ...).</returns>
    /// <exception cref="ArgumentException">Wrong key or value size.</exception>
    public int UpdateOrErrno(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckKey(key);
        CheckValue(value.Length);
        return _backend.Update(key, value, (ulong)flags);
    }

    /// <summary>Puts <paramref name="inner"/> at <paramref name="key"/> of a map-in-map.</summary>
    /// <param name="key"><see cref="KeySize"/> bytes.</param>
    /// <param name="inner">The inner map; it must match the template's type and sizes.</param>
    /// <param name="flags">Update flags.</param>
    /// <exception cref="InvalidOperationException">This is not a map-in-map.</exception>
    /// <exception cref="ArgumentException">Wrong key size, or one map is in the kernel and the other in-process.</exception>
    /// <exception cref="BpfException">EINVAL when the inner map does not match the template; EBADF when it is closed.</exception>
    public void SetInnerMap(ReadOnlySpan<byte> key, BpfMap inner, UpdateFlags flags = UpdateFlags.Any)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!Type.IsMapInMap())
        {
            throw new InvalidOperationException($"{Type} is not a map-in-map");
        }

        CheckKey(key);
        if ((inner.Handle is null) != (Handle is null))
        {
            BpfErrors.ThrowArgument(nameof(inner), $"a {(Handle is null ? "in-process" : "kernel")} map-in-map can only hold {(Handle is null ? "in-process" : "kernel")} maps");
        }

        int err = _backend.UpdateInner(key, inner.Backend, (ulong)flags);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_UPDATE_ELEM, Type);
        }
    }

    /// <summary>Deletes <paramref name="key"/> (BPF_MAP_DELETE_ELEM, Linux 3.18).</summary>
    /// <param name="key"><see cref="KeySize"/> bytes.</param>
    /// <returns>False when the key was absent.</returns>
    /// <exception cref="ArgumentException">Wrong key size.</exception>
    /// <exception cref="BpfException">EINVAL for arrays (which cannot delete), EPERM for frozen maps.</exception>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        int err = DeleteOrErrno(key);
        if (err == Errno.ENOENT)
        {
            return false;
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_DELETE_ELEM, Type);
        }

        return true;
    }

    /// <summary>
    /// The key after <paramref name="key"/> (BPF_MAP_GET_NEXT_KEY, Linux 3.18); an empty key asks for the first (4.12).
    /// Beware: on hash maps a key that no longer exists makes the kernel start again from the first key.
    /// </summary>
    /// <param name="key">Empty, or <see cref="KeySize"/> bytes.</param>
    /// <param name="nextKey"><see cref="KeySize"/> bytes; receives the next key.</param>
    /// <returns>False after the last key.</returns>
    /// <exception cref="ArgumentException">Wrong key size.</exception>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        int err = GetNextKeyOrErrno(key, nextKey);
        if (err == Errno.ENOENT)
        {
            return false;
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_GET_NEXT_KEY, Type);
        }

        return true;
    }

    /// <summary>Looks up and deletes <paramref name="key"/> atomically (BPF_MAP_LOOKUP_AND_DELETE_ELEM; hash types 5.14).</summary>
    /// <param name="key"><see cref="KeySize"/> bytes.</param>
    /// <param name="value"><see cref="ValueBufferSize"/> bytes; receives the value.</param>
    /// <param name="flags">Lookup flags.</param>
    /// <returns>False when the key was absent.</returns>
    /// <exception cref="ArgumentException">Wrong key or value size.</exception>
    /// <exception cref="BpfNotSupportedException">The map type lacks the command (arrays).</exception>
    public bool TryLookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags = LookupFlags.None)
    {
        int err = LookupAndDeleteOrErrno(key, value, flags);
        if (err == Errno.ENOENT)
        {
            return false;
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM, Type);
        }

        return true;
    }

    // The errno-returning element calls: the spans are checked as in the throwing methods above, and the
    // caller (the get_next_key walk, which tells ENOENT and fallbacks apart itself) reads the errno.

    /// <summary><see cref="TryLookup"/>, returning 0 or the errno.</summary>
    internal int LookupOrErrno(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags)
    {
        CheckKey(key);
        CheckValue(value.Length);
        return _backend.Lookup(key, value, (ulong)flags);
    }

    /// <summary><see cref="Delete"/>, returning 0 or the errno.</summary>
    internal int DeleteOrErrno(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return _backend.Delete(key);
    }

    /// <summary><see cref="TryGetNextKey"/>, returning 0 or the errno (ENOENT after the last key).</summary>
    internal int GetNextKeyOrErrno(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
        {
            CheckKey(key);
        }

        if (nextKey.Length != KeySize)
        {
            BpfErrors.ThrowSize(nameof(nextKey), "next key buffer", nextKey.Length, KeySize);
        }

        return _backend.GetNextKey(key, nextKey);
    }

    /// <summary><see cref="TryLookupAndDelete"/>, returning 0 or the errno.</summary>
    internal int LookupAndDeleteOrErrno(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags)
    {
        CheckKey(key);
        CheckValue(value.Length);
        return _backend.LookupAndDelete(key, value, (ulong)flags);
    }

    internal void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            BpfErrors.ThrowSize(nameof(key), "key", key.Length, KeySize);
        }
    }

    internal void CheckValue(int length)
    {
        if (length != ValueBufferSize)
        {
            string what = IsPerCpu ? $"per-CPU value buffer ({Cpus} CPUs x {ValueStride})" : "value";
            BpfErrors.ThrowSize("value", what, length, ValueBufferSize);
        }
    }
}
