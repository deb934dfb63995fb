using System.Runtime.InteropServices;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess;

/// <summary>
/// The in-process engine behind <see cref="IMapBackend"/>: the same commands, buffers and errno as
/// <see cref="KernelMapBackend"/>, with no syscall. It plays the part of one open descriptor:
/// disposing it closes that "descriptor" (later calls return EBADF); the map itself lives on while
/// an outer map-in-map still holds it, as a kernel map does.
/// </summary>
public sealed class InProcessMapBackend : IMapBackend, IMapMemoryBackend
{
    private MapCore? _core;

    // hash and percpu_hash lookups skip the generic syscall layer when nothing but the table can answer.
    private InlineHashTable? _inline;
    private readonly MapLayout _layout;
    private readonly Btf.BtfSpec? _btf;

    internal InProcessMapBackend(MapCore core)
    {
        _core = core;
        core.OpenHandle();
        _btf = core.Btf;
        _inline = core as InlineHashTable;
        Info = core.Info;
        PossibleCpus = core.Cpus;
        _layout = new MapLayout(core.Info, Math.Max(core.Cpus, 1));
    }

    /// <inheritdoc />
    public MapInfo Info { get; }

    /// <inheritdoc />
    public int PossibleCpus { get; }

    /// <summary>Always null: in-process maps have no kernel descriptor.</summary>
    public SafeHandle? Handle => null;

    /// <summary>The hash seed in use (the kernel's <c>hashrnd</c>), or 0 for arrays.</summary>
    public uint Seed => Core is IHashStats h ? h.Seed : 0;

    /// <summary>Number of hash buckets, <c>roundup_pow_of_two(max_entries)</c>, or 0 for arrays.</summary>
    public int BucketCount => Core is IHashStats h ? h.NBuckets : 0;

    internal MapCore? Core => Volatile.Read(ref _core);

    /// <summary>The BTF the map was created with (<see cref="MapSpec.BtfTypes"/>), or null; kept for the map's life, as the kernel keeps <c>map->btf</c>.</summary>
    /// <returns>The BTF, or null.</returns>
    public Btf.BtfSpec? LoadBtf() => _btf;

    /// <inheritdoc />
    public int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
    {
        _layout.CheckKey(key, nameof(key));
        _layout.CheckValue(value.Length, nameof(value));
        InlineHashTable? table = _inline;
        if (table is not null && flags == 0 && key.Length == table.KeySize && value.Length >= table.ValueBufferSize && table.CanRead)
        {
            return table.LookupDirect(key, value);
        }

        return Core?.Lookup(key, value, flags) ?? Errno.EBADF;
    }

    /// <inheritdoc />
    public int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        _layout.CheckKey(key, nameof(key));
        _layout.CheckValue(value.Length, nameof(value));
        return Core?.Update(key, value, flags) ?? Errno.EBADF;
    }

    /// <inheritdoc />
    public int UpdateInner(ReadOnlySpan<byte> key, IMapBackend inner, ulong flags)
    {
        // The engine's object table stands in for the descriptor table: the value names the id. Only
        // a live handle of this engine counts (decorators are looked through): a closed one is EBADF
        // even while an outer map keeps the map itself alive, and a kernel map has a descriptor instead.
        _layout.CheckKey(key, nameof(key));
        if (InProcessMap.Unwrap(inner) is not { Core: not null } map)
        {
            return Errno.EBADF;
        }

        Span<byte> value = stackalloc byte[sizeof(uint)];
        MemoryMarshal.Write(value, map.Info.Id);
        return Core?.Update(key, value, flags) ?? Errno.EBADF;
    }

    /// <inheritdoc />
    public int Delete(ReadOnlySpan<byte> key)
    {
        _layout.CheckKey(key, nameof(key));
        return Core?.Delete(key) ?? Errno.EBADF;
    }

    /// <inheritdoc />
    public int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
        {
            _layout.CheckKey(key, nameof(key));
        }

        _layout.CheckKey(nextKey, nameof(nextKey));
        return Core?.GetNextKey(key, nextKey) ?? Errno.EBADF;
    }

    /// <inheritdoc />
    public int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
    {
        _layout.CheckKey(key, nameof(key));
        _layout.CheckValue(value.Length, nameof(value));
        return Core?.LookupAndDelete(key, value, flags) ?? Errno.EBADF;
    }

    /// <inheritdoc />
    public int Freeze() => Core?.Freeze() ?? Errno.EBADF;

    /// <inheritdoc />
    public bool IsFrozen => Core?.IsFrozen ?? false;

    /// <inheritdoc />
    public int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        _layout.CheckCursor(inBatch.Length, outBatch.Length);
        _layout.CheckBatch(keys.Length, values.Length, count);
        MapCore? core = Core;
        return core is null ? Errno.EBADF : core.LookupBatch(andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);
    }

    /// <inheritdoc />
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        _layout.CheckBatch(keys.Length, values.Length, count);
        MapCore? core = Core;
        return core is null ? Errno.EBADF : core.UpdateBatch(keys, values, ref count, elemFlags, flags);
    }

    /// <inheritdoc />
    public int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags)
    {
        _layout.CheckBatch(keys.Length, 0, count, checkValues: false);
        MapCore? core = Core;
        return core is null ? Errno.EBADF : core.DeleteBatch(keys, ref count, elemFlags, flags);
    }

    /// <summary>
    /// Adds <paramref name="delta"/> to the u32 or u64 value at <paramref name="key"/> under the
    /// element's lock, creating the element (zero plus delta) when it is missing. Per-CPU maps add
    /// to the calling thread's current CPU slot. Raw tier: returns 0 or errno (E2BIG when a hash map
    /// is full, E2BIG for an array index past the end, EPERM when frozen, EBADF after dispose).
    /// </summary>
    /// <param name="key">key_size bytes.</param>
    /// <param name="delta">What to add (wrapping; truncated to 32 bits for u32 values).</param>
    /// <returns>0 or errno.</returns>
    /// <exception cref="ArgumentException">The key is shorter than key_size.</exception>
    public int AtomicAdd(ReadOnlySpan<byte> key, ulong delta)
    {
        _layout.CheckKey(key, nameof(key));
        return Core?.AtomicAdd(key, delta) ?? Errno.EBADF;
    }

    int IMapMemoryBackend.MapMemory(long offset, long length, bool writable, out Kernel.MappedRegion? region)
    {
        region = null;
        return Core switch
        {
            null => Errno.EBADF,
            IMappableCore m => m.MapMemory(offset, length, writable, out region),
            _ => Errno.ENOTSUPP,
        };
    }

    int IMapMemoryBackend.OpenPollHandle(out SafeHandle? handle)
    {
        handle = null;
        return Core switch
        {
            null => Errno.EBADF,
            IMappableCore m => m.OpenPollHandle(out handle),
            _ => Errno.ENOTSUPP,
        };
    }

    /// <summary>Closes this handle. The map goes away once no outer map holds it either.</summary>
    public void Dispose()
    {
        _inline = null;
        if (Interlocked.Exchange(ref _core, null) is { } core)
        {
            core.CloseHandle();
            core.Release();
        }
    }
}
