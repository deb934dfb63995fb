namespace BpfMaps.InProcess.Engine;

/// <summary>
/// One in-process map. The public methods are the syscall layer (kernel/bpf/syscall.c): they check
/// permissions and the flags every map type shares, then call the type's own code, as the kernel
/// calls <c>map->ops</c>. Everything returns 0 or the errno the kernel returns; nothing throws.
/// </summary>
internal abstract class MapCore
{
    /// <summary>BPF_NOEXIST: create the element only if it does not exist.</summary>
    protected const ulong NoExist = 1;

    /// <summary>BPF_EXIST: update the element only if it exists.</summary>
    protected const ulong Exist = 2;

    /// <summary>BPF_F_LOCK: copy under the value's bpf_spin_lock, which no in-process value has.</summary>
    private const ulong FLock = 4;

    private int _refs = 1;
    private int _handles;
    private volatile bool _frozen;

    protected MapCore(MapInfo info, int cpus, int valueBufferSize)
    {
        Info = info;
        Cpus = cpus;
        ValueBufferSize = valueBufferSize;
        KeySize = info.KeySize;
    }

    public MapInfo Info { get; }

    public uint Id => Info.Id;

    public int KeySize { get; }

    /// <summary>Bytes of one entry's value in user buffers (all CPUs for per-CPU maps).</summary>
    public int ValueBufferSize { get; }

    public int Cpus { get; }

    /// <summary>For map-in-map types: what an inner map must look like.</summary>
    public MapInfo? InnerTemplate { get; init; }

    /// <summary>The BTF <see cref="MapInfo.BtfKeyTypeId"/> and <see cref="MapInfo.BtfValueTypeId"/> refer to, or null.</summary>
    public Btf.BtfSpec? Btf { get; init; }

    /// <summary>BPF_F_RDONLY/BPF_F_WRONLY: like the kernel, they belong to the "descriptor", not to map_flags.</summary>
    public MapFlags Access { get; init; }

    public bool CanRead => (Access & MapFlags.WriteOnly) == 0;

    public bool IsFrozen => _frozen;

    // Freezing takes write permission away from the syscall side only, as map_get_sys_perms does.
    private bool CanWrite => !_frozen && (Access & MapFlags.ReadOnly) == 0;

    /// <summary>Whether some <see cref="InProcessMapBackend"/> over this map is still open: whether it has a "descriptor".</summary>
    public bool HasOpenHandle => Volatile.Read(ref _handles) > 0;

    /// <summary>A backend (the engine's descriptor) was opened over this map.</summary>
    public void OpenHandle() => Interlocked.Increment(ref _handles);

    /// <summary>A backend over this map was disposed; its reference is dropped separately, with <see cref="Release"/>.</summary>
    public void CloseHandle() => Interlocked.Decrement(ref _handles);

    public bool TryAddRef()
    {
        int r = Volatile.Read(ref _refs);
        while (r > 0)
        {
            int seen = Interlocked.CompareExchange(ref _refs, r + 1, r);
            if (seen == r)
            {
                return true;
            }

            r = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            ObjectTable.Remove(Id);
            ReleaseInnerMaps();
            Free();
        }
    }

    public int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
    {
        if (flags != 0 || !CanRead)
        {
            // Unknown flags first, then permission; no in-process value has a bpf_spin_lock, so
            // BPF_F_LOCK is always refused.
            return (flags & ~FLock) != 0 ? Errno.EINVAL : !CanRead ? Errno.EPERM : Errno.EINVAL;
        }

        return key.Length < KeySize || value.Length < ValueBufferSize ? Errno.EFAULT : LookupElem(key[..KeySize], value[..ValueBufferSize]);
    }

    public int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        if (!CanWrite)
        {
            return Errno.EPERM;
        }

        if ((flags & FLock) != 0)
        {
            return Errno.EINVAL;
        }

        return key.Length < KeySize || value.Length < ValueBufferSize ? Errno.EFAULT : UpdateElem(key[..KeySize], value[..ValueBufferSize], flags);
    }

    public int Delete(ReadOnlySpan<byte> key)
    {
        if (!CanWrite)
        {
            return Errno.EPERM;
        }

        return key.Length < KeySize ? Errno.EFAULT : DeleteElem(key[..KeySize]);
    }

    public int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!CanRead)
        {
            return Errno.EPERM;
        }

        if ((!key.IsEmpty && key.Length < KeySize) || nextKey.Length < KeySize)
        {
            return Errno.EFAULT;
        }

        return GetNextKeyElem(key.IsEmpty ? key : key[..KeySize], nextKey[..KeySize]);
    }

    public int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
    {
        if ((flags & ~FLock) != 0)
        {
            return Errno.EINVAL;
        }

        if (!CanRead || !CanWrite)
        {
            return Errno.EPERM;
        }

        if (flags != 0)
        {
            return Errno.EINVAL;
        }

        if (!HasLookupAndDeleteElem)
        {
            return Errno.ENOTSUPP;
        }

        return key.Length < KeySize || value.Length < ValueBufferSize ? Errno.EFAULT : LookupAndDeleteElem(key[..KeySize], value[..ValueBufferSize]);
    }

    public int Freeze()
    {
        lock (FreezeGate)
        {
            return FreezeLocked();
        }
    }

    /// <summary>Held by <see cref="Freeze"/> and by whatever hands out writable mappings, as the kernel's freeze_mutex.</summary>
    protected Lock FreezeGate { get; } = new();

    private int FreezeLocked()
    {
        if (!CanWrite)
        {
            // Already frozen maps have lost write permission: the kernel answers EPERM, not EBUSY.
            return Errno.EPERM;
        }

        // map_freeze: a writable mmap would let this process go on writing a frozen map.
        if (HasWritableMappings)
        {
            return Errno.EBUSY;
        }

        _frozen = true;
        return 0;
    }

    public int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        if (!CanRead || (andDelete && !CanWrite))
        {
            return Errno.EPERM;
        }

        if (andDelete && !HasLookupAndDeleteBatch)
        {
            return Errno.ENOTSUPP;
        }

        if (count > 0 && ((long)count * KeySize > keys.Length || (long)count * ValueBufferSize > values.Length))
        {
            return Errno.EFAULT;
        }

        return LookupBatchOp(andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);
    }

    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        if (!CanWrite)
        {
            return Errno.EPERM;
        }

        // generic_map_update_batch: only BPF_F_LOCK may be set, and it needs a spin lock we never have.
        if (elemFlags != 0)
        {
            return Errno.EINVAL;
        }

        uint max = count;
        if (max == 0)
        {
            return 0;
        }

        if ((long)max * KeySize > keys.Length || (long)max * ValueBufferSize > values.Length)
        {
            return Errno.EFAULT;
        }

        int err = 0;
        uint cp;
        for (cp = 0; cp < max; cp++)
        {
            err = UpdateElem(keys.Slice((int)cp * KeySize, KeySize), values.Slice((int)cp * ValueBufferSize, ValueBufferSize), elemFlags);
            if (err != 0)
            {
                break;
            }
        }

        count = cp;
        return err;
    }

    public int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags)
    {
        if (!CanWrite)
        {
            return Errno.EPERM;
        }

        if (!HasDeleteBatch)
        {
            return Errno.ENOTSUPP;
        }

        if (elemFlags != 0)
        {
            return Errno.EINVAL;
        }

        uint max = count;
        if (max == 0)
        {
            return 0;
        }

        if ((long)max * KeySize > keys.Length)
        {
            return Errno.EFAULT;
        }

        int err = 0;
        uint cp;
        for (cp = 0; cp < max; cp++)
        {
            err = DeleteElem(keys.Slice((int)cp * KeySize, KeySize));
            if (err != 0)
            {
                break;
            }
        }

        count = cp;
        return err;
    }

    /// <summary>Adds <paramref name="delta"/> to the u32/u64 value at <paramref name="key"/>, creating it when missing.</summary>
    public int AtomicAdd(ReadOnlySpan<byte> key, ulong delta)
    {
        if (!CanWrite)
        {
            return Errno.EPERM;
        }

        if (key.Length < KeySize)
        {
            return Errno.EFAULT;
        }

        if (Info.Type.IsMapInMap() || Info.ValueSize is not (4 or 8))
        {
            return Errno.EINVAL;
        }

        return AddElem(key[..KeySize], delta);
    }

    /// <summary>
    /// Whether an element update's flags are more than the map types know: anything past BPF_EXIST. <see cref="Update"/>
    /// refused BPF_F_LOCK already; each type decides when to ask (hash_of_maps resolves its value first, as the kernel).
    /// </summary>
    protected static bool HasUnknownUpdateFlags(ulong flags) => flags > Exist;

    /// <summary>
    /// BPF_NOEXIST and BPF_EXIST against whether the key exists (check_flags in the kernel's htab): EEXIST when it
    /// exists and BPF_NOEXIST is set, ENOENT when it does not and BPF_EXIST is set, else 0. An array element
    /// always exists.
    /// </summary>
    protected static int CheckExistFlags(bool exists, ulong flags)
        => exists && flags == NoExist ? Errno.EEXIST : !exists && flags == Exist ? Errno.ENOENT : 0;

    protected virtual bool HasLookupAndDeleteElem => false;

    /// <summary>Whether a writable view of the map's memory is open (BPF_MAP_FREEZE then says EBUSY).</summary>
    protected virtual bool HasWritableMappings => false;

    /// <summary>Gives back what the map holds beyond managed memory, once the last reference is gone.</summary>
    protected virtual void Free()
    {
    }

    protected virtual bool HasLookupAndDeleteBatch => false;

    protected virtual bool HasDeleteBatch => false;

    protected abstract int LookupElem(ReadOnlySpan<byte> key, Span<byte> value);

    protected abstract int UpdateElem(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags);

    protected abstract int DeleteElem(ReadOnlySpan<byte> key);

    protected abstract int GetNextKeyElem(ReadOnlySpan<byte> key, Span<byte> nextKey);

    protected virtual int LookupAndDeleteElem(ReadOnlySpan<byte> key, Span<byte> value) => Errno.ENOTSUPP;

    protected abstract int LookupBatchOp(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags);

    protected abstract int AddElem(ReadOnlySpan<byte> key, ulong delta);

    protected abstract void ReleaseInnerMaps();

    /// <summary>
    /// generic_map_lookup_batch: the cursor is the previous key; get_next_key then lookup, up to
    /// count entries. Keys whose lookup says ENOENT (empty map-in-map slots) are skipped. A full
    /// batch returns 0 even at the last key; out_batch is written only when something was copied.
    /// </summary>
    protected int GenericLookupBatch(ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags)
    {
        if (elemFlags != 0)
        {
            return Errno.EINVAL;
        }

        uint max = count;
        if (max == 0)
        {
            return 0;
        }

        count = 0;
        Span<byte> a = KeySize <= 64 ? stackalloc byte[KeySize] : new byte[KeySize];
        Span<byte> b = KeySize <= 64 ? stackalloc byte[KeySize] : new byte[KeySize];
        bool havePrev = !inBatch.IsEmpty;
        if (havePrev)
        {
            if (inBatch.Length < KeySize)
            {
                return Errno.EFAULT;
            }

            inBatch[..KeySize].CopyTo(a);
        }

        Span<byte> prev = a;
        Span<byte> key = b;
        int err = 0;
        uint cp = 0;
        while (cp < max)
        {
            err = GetNextKeyElem(havePrev ? prev : ReadOnlySpan<byte>.Empty, key);
            if (err != 0)
            {
                break;
            }

            err = LookupElem(key, values.Slice((int)cp * ValueBufferSize, ValueBufferSize));
            if (err == 0)
            {
                key.CopyTo(keys.Slice((int)cp * KeySize, KeySize));
                cp++;
            }
            else if (err != Errno.ENOENT)
            {
                return err;
            }

            Span<byte> t = prev;
            prev = key;
            key = t;
            havePrev = true;
        }

        count = cp;
        if (cp > 0)
        {
            if (outBatch.Length < KeySize)
            {
                return Errno.EFAULT;
            }

            prev.CopyTo(outBatch);
        }

        return err;
    }

    /// <summary>
    /// Resolves a map-in-map value to a referenced inner map, as bpf_map_fd_get_ptr resolves a descriptor. The
    /// engine's descriptor of a map is its id, and it exists while a handle of the map is open: a map only an
    /// outer map still holds has no descriptor left, as in the kernel.
    /// </summary>
    protected int AcquireInner(ReadOnlySpan<byte> value, out uint id)
    {
        id = BitConverter.ToUInt32(value);
        MapCore? inner = ObjectTable.Acquire(id);
        if (inner is null || !inner.HasOpenHandle)
        {
            inner?.Release();
            return NotAnInnerMap(id);
        }

        if (!MetaEqual(InnerTemplate!, inner.Info))
        {
            inner.Release();
            return Errno.EINVAL;
        }

        return 0;
    }

    /// <summary>
    /// The kernel's answer for a value that names no in-process map, read as the descriptor it would be there:
    /// EINVAL when this process has that descriptor open (stdin, a file, a kernel map: not a map of this
    /// engine), else EBADF.
    /// </summary>
    private static int NotAnInnerMap(uint fd) => fd <= int.MaxValue && Path.Exists($"/proc/self/fd/{fd}") ? Errno.EINVAL : Errno.EBADF;

    // bpf_map_meta_equal plus the array rule: max_entries must match unless the template has BPF_F_INNER_MAP.
    private static bool MetaEqual(MapInfo template, MapInfo inner)
        => template.Type == inner.Type && template.KeySize == inner.KeySize && template.ValueSize == inner.ValueSize
           && template.Flags == inner.Flags
           && (!inner.Type.IsArray() || (template.Flags & MapFlags.InnerMap) != 0 || template.MaxEntries == inner.MaxEntries);
}
