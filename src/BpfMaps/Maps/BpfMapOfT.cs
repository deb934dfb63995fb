using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Btf;

namespace BpfMaps;

/// <summary>
/// A typed view over a map whose keys are <typeparamref name="TKey"/> and values <typeparamref name="TValue"/>.
/// Sizes are checked once, here; afterwards every call is a reinterpretation, not a copy or marshal.
/// For per-CPU maps use <see cref="PerCpuBpfMap{TKey, TValue}"/>.
/// The view does not own the map it wraps and is not disposable: dispose <see cref="Map"/> (the
/// <see cref="BpfMap"/> you passed in) when done; the view is unusable after that.
/// </summary>
/// <typeparam name="TKey">Key type; its size must equal key_size.</typeparam>
/// <typeparam name="TValue">Value type; its size must equal value_size.</typeparam>
public sealed class BpfMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>
    /// Creates the view. When the map has BTF, the fields of <typeparamref name="TKey"/> and <typeparamref name="TValue"/>
    /// are also checked against it: each field that has a BTF member of the same name (exactly, or ignoring case and
    /// '_') must have that member's offset and size, in nested structs too. Reading a kernel map's BTF back
    /// (BPF_BTF_GET_FD_BY_ID, Linux 5.0) needs CAP_SYS_ADMIN; without it only the sizes are checked.
    /// </summary>
    /// <param name="map">The untyped map (not owned: disposing the view is not needed).</param>
    /// <exception cref="ArgumentException">Key or value size differs from the map's (the message names both), or a
    /// field does not match the map's BTF (the message names the field and the member).</exception>
    /// <exception cref="BtfException">The map's BTF is malformed.</exception>
    public BpfMap(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.IsPerCpu)
        {
            BpfErrors.ThrowArgument(nameof(map), $"{map.Type} is per-CPU; use PerCpuBpfMap<{typeof(TKey).Name}, {typeof(TValue).Name}>");
        }

        CheckSizes(map, Unsafe.SizeOf<TKey>(), map.Type.IsMapInMap() ? sizeof(uint) : Unsafe.SizeOf<TValue>(), typeof(TKey), typeof(TValue), map.ValueBufferSize);
        CheckBtf(map, typeof(TKey), typeof(TValue), checkValue: !map.Type.IsMapInMap());
        Map = map;
    }

    /// <summary>The untyped map.</summary>
    public BpfMap Map { get; }

    /// <summary>Looks up <paramref name="key"/> (BPF_MAP_LOOKUP_ELEM).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value when found.</param>
    /// <returns>False when absent.</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT.</exception>
    public bool TryLookup(in TKey key, out TValue value)
    {
        value = default;
        return Map.TryLookup(Bytes(in key), MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1)));
    }

    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/> (BPF_MAP_UPDATE_ELEM).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="flags">Update flags.</param>
    /// <exception cref="BpfException">EEXIST/ENOENT per flags, E2BIG when full.</exception>
    public void Update(in TKey key, in TValue value, UpdateFlags flags = UpdateFlags.Any)
        => Map.Update(Bytes(in key), Bytes(in value), flags);

    /// <summary>Deletes <paramref name="key"/> (BPF_MAP_DELETE_ELEM).</summary>
    /// <param name="key">The key.</param>
    /// <returns>False when absent.</returns>
    public bool Delete(in TKey key) => Map.Delete(Bytes(in key));

    /// <summary>Reads and deletes <paramref name="key"/> (BPF_MAP_LOOKUP_AND_DELETE_ELEM, 5.14).</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value when found.</param>
    /// <returns>False when absent.</returns>
    public bool TryLookupAndDelete(in TKey key, out TValue value)
    {
        value = default;
        return Map.TryLookupAndDelete(Bytes(in key), MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1)));
    }

    /// <summary>Batch lookup into typed spans (BPF_MAP_LOOKUP_BATCH, 5.6).</summary>
    /// <param name="cursor">A cursor of the map.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values; at least as long as <paramref name="keys"/>.</param>
    /// <returns>Count and exhaustion.</returns>
    public BatchResult LookupBatch(BatchCursor cursor, Span<TKey> keys, Span<TValue> values)
        => Map.LookupBatch(cursor, MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values));

    /// <summary>Batch lookup-and-delete into typed spans (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6).</summary>
    /// <param name="cursor">A cursor of the map.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values.</param>
    /// <returns>Count and exhaustion.</returns>
    public BatchResult LookupAndDeleteBatch(BatchCursor cursor, Span<TKey> keys, Span<TValue> values)
        => Map.LookupAndDeleteBatch(cursor, MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values));

    /// <summary>Batch update from typed spans (BPF_MAP_UPDATE_BATCH, 5.6).</summary>
    /// <param name="keys">Keys.</param>
    /// <param name="values">Values, one per key.</param>
    /// <param name="flags">Update flags.</param>
    /// <returns>Entries written.</returns>
    public int UpdateBatch(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values, UpdateFlags flags = UpdateFlags.Any)
    {
        if (values.Length < keys.Length)
        {
            BpfErrors.ThrowArgument(nameof(values), $"{values.Length} values for {keys.Length} keys");
        }

        return Map.UpdateBatch(MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values), keys.Length, flags);
    }

    /// <summary>Batch delete (BPF_MAP_DELETE_BATCH, 5.6).</summary>
    /// <param name="keys">Keys.</param>
    /// <returns>Keys deleted.</returns>
    public int DeleteBatch(ReadOnlySpan<TKey> keys) => Map.DeleteBatch(MemoryMarshal.AsBytes(keys), keys.Length);

    /// <summary>Streams typed entries (see <see cref="BpfMap.Dump"/>).</summary>
    /// <param name="options">Options, or null.</param>
    /// <returns>Enumerable of key/value pairs; nothing is allocated per entry.</returns>
    public TypedEntries<TKey, TValue> Dump(DumpOptions? options = null) => new(Map.Dump(options));

    /// <summary>Streams and deletes typed entries (see <see cref="BpfMap.Drain"/>).</summary>
    /// <param name="options">Options, or null.</param>
    /// <returns>Enumerable of key/value pairs.</returns>
    public TypedEntries<TKey, TValue> Drain(DumpOptions? options = null) => new(Map.Drain(options));

    internal static ReadOnlySpan<byte> Bytes<T>(in T v) where T : unmanaged
        => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in v));

    internal static void CheckSizes(BpfMap map, int keySize, int valueSize, Type keyType, Type valueType, int mapValueSize)
    {
        if (keySize != map.KeySize || valueSize != (map.IsPerCpu ? map.ValueSize : mapValueSize))
        {
            throw new ArgumentException(
                $"typed view <{keyType.Name} ({keySize} bytes), {valueType.Name} ({valueSize} bytes)> does not fit map '{map.Name}' " +
                $"with key_size {map.KeySize} and value_size {map.ValueSize}", nameof(map));
        }
    }

    internal static void CheckBtf(BpfMap map, Type keyType, Type valueType, bool checkValue)
    {
        MapInfo info = map.Info;
        if (info.BtfKeyTypeId == 0 && (!checkValue || (info.BtfValueTypeId == 0 && info.BtfVmlinuxValueTypeId == 0)))
        {
            return;
        }

        BtfType? key;
        BtfType? value;
        try
        {
            key = map.GetBtfKeyType();
            value = checkValue ? map.GetBtfValueType() : null;
        }
        catch (BpfException e) when (e.Errno is Errno.EPERM or Errno.EACCES)
        {
            return; // the map can be used without the privilege to read its BTF back; the sizes were checked
        }

        (string role, Type type, string? problem) = ("key", keyType, key is { } k ? BtfLayoutCheck.FindMismatch(keyType, k) : null);
        if (problem is null && value is { } v)
        {
            (role, type, problem) = ("value", valueType, BtfLayoutCheck.FindMismatch(valueType, v));
        }

        if (problem is not null)
        {
            throw new ArgumentException($"{role} type {type.Name} does not match the BTF of map '{map.Name}': {problem}", nameof(map));
        }
    }
}

/// <summary>
/// A typed view over a per-CPU map: values are <see cref="PerCpuValues{T}"/>, one <typeparamref name="TValue"/> per possible CPU.
/// Absence is always a false <c>Try…</c>. The view does not own the map it wraps and is not disposable:
/// dispose <see cref="Map"/> (the <see cref="BpfMap"/> you passed in) when done.
/// </summary>
/// <typeparam name="TKey">Key type; its size must equal key_size.</typeparam>
/// <typeparam name="TValue">Per-CPU value type; its size must equal value_size.</typeparam>
public sealed class PerCpuBpfMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>
    /// Creates the view. When the map has BTF, the fields of <typeparamref name="TKey"/> and of one CPU's
    /// <typeparamref name="TValue"/> are checked against it as <see cref="BpfMap{TKey, TValue}(BpfMap)"/> checks them.
    /// </summary>
    /// <param name="map">A per-CPU map.</param>
    /// <exception cref="ArgumentException">Not per-CPU, sizes differ (the message names both), or a field does not
    /// match the map's BTF (the message names the field and the member).</exception>
    /// <exception cref="BtfException">The map's BTF is malformed.</exception>
    public PerCpuBpfMap(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (!map.IsPerCpu)
        {
            BpfErrors.ThrowArgument(nameof(map), $"{map.Type} is not per-CPU; use BpfMap<{typeof(TKey).Name}, {typeof(TValue).Name}>");
        }

        BpfMap<TKey, TValue>.CheckSizes(map, Unsafe.SizeOf<TKey>(), Unsafe.SizeOf<TValue>(), typeof(TKey), typeof(TValue), map.ValueBufferSize);
        BpfMap<TKey, TValue>.CheckBtf(map, typeof(TKey), typeof(TValue), checkValue: true);
        Map = map;
    }

    /// <summary>The untyped map.</summary>
    public BpfMap Map { get; }

    /// <summary>Number of CPUs in each value.</summary>
    public int Cpus => Map.Cpus;

    /// <summary>Looks up <paramref name="key"/> into <paramref name="buffer"/> (<see cref="BpfMap.ValueBufferSize"/> bytes).</summary>
    /// <param name="key">The key.</param>
    /// <param name="buffer">Scratch buffer for the raw per-CPU values.</param>
    /// <param name="values">The values when found.</param>
    /// <returns>False when absent.</returns>
    public bool TryLookup(in TKey key, Span<byte> buffer, out PerCpuValues<TValue> values)
    {
        values = default;
        if (!Map.TryLookup(BpfMap<TKey, TValue>.Bytes(in key), buffer))
        {
            return false;
        }

        values = new PerCpuValues<TValue>(buffer, Map.Cpus);
        return true;
    }

    /// <summary>Looks up <paramref name="key"/> (BPF_MAP_LOOKUP_ELEM), copying every CPU's value into a new array.</summary>
    /// <param name="key">The key.</param>
    /// <param name="values">One value per possible CPU when found; null when absent.</param>
    /// <returns>False when absent.</returns>
    public bool TryLookup(in TKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TValue[]? values)
    {
        byte[] buf = new byte[Map.ValueBufferSize];
        values = TryLookup(key, buf, out var v) ? v.ToArray() : null;
        return values is not null;
    }

    /// <summary>Reads and deletes <paramref name="key"/> (BPF_MAP_LOOKUP_AND_DELETE_ELEM, per-CPU hash maps from Linux 5.14).</summary>
    /// <param name="key">The key.</param>
    /// <param name="buffer">Scratch buffer for the raw per-CPU values (<see cref="BpfMap.ValueBufferSize"/> bytes).</param>
    /// <param name="values">The values when found.</param>
    /// <returns>False when absent.</returns>
    public bool TryLookupAndDelete(in TKey key, Span<byte> buffer, out PerCpuValues<TValue> values)
    {
        values = default;
        if (!Map.TryLookupAndDelete(BpfMap<TKey, TValue>.Bytes(in key), buffer))
        {
            return false;
        }

        values = new PerCpuValues<TValue>(buffer, Map.Cpus);
        return true;
    }

    /// <summary>
    /// Batch lookup (BPF_MAP_LOOKUP_BATCH, 5.6; per-CPU arrays 5.13). <paramref name="values"/> receives
    /// <see cref="Cpus"/> values per key, back to back: entry <c>i</c>'s CPU <c>c</c> is <c>values[i * Cpus + c]</c>.
    /// </summary>
    /// <param name="cursor">A cursor of the map.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values; at least <c>keys.Length * Cpus</c>.</param>
    /// <returns>Count and exhaustion.</returns>
    /// <exception cref="ArgumentException"><paramref name="values"/> is shorter than <c>keys.Length * Cpus</c>.</exception>
    public BatchResult LookupBatch(BatchCursor cursor, Span<TKey> keys, Span<TValue> values)
        => ReadBatch(delete: false, cursor, keys, values);

    /// <summary>Batch lookup-and-delete (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6; not for arrays); values as <see cref="LookupBatch"/>.</summary>
    /// <param name="cursor">A cursor of the map.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values; at least <c>keys.Length * Cpus</c>.</param>
    /// <returns>Count and exhaustion.</returns>
    /// <exception cref="ArgumentException"><paramref name="values"/> is shorter than <c>keys.Length * Cpus</c>.</exception>
    public BatchResult LookupAndDeleteBatch(BatchCursor cursor, Span<TKey> keys, Span<TValue> values)
        => ReadBatch(delete: true, cursor, keys, values);

    /// <summary>Batch update (BPF_MAP_UPDATE_BATCH, 5.6); <paramref name="values"/> holds <see cref="Cpus"/> values per key, back to back.</summary>
    /// <param name="keys">Keys.</param>
    /// <param name="values">Exactly <c>keys.Length * Cpus</c> values.</param>
    /// <param name="flags">Update flags.</param>
    /// <returns>Entries written.</returns>
    /// <exception cref="ArgumentException">Not <see cref="Cpus"/> values per key.</exception>
    public int UpdateBatch(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values, UpdateFlags flags = UpdateFlags.Any)
    {
        CheckValueCount(values.Length, keys.Length, exact: true);
        if (Unsafe.SizeOf<TValue>() == Map.ValueStride)
        {
            return Map.UpdateBatch(MemoryMarshal.AsBytes(keys), MemoryMarshal.AsBytes(values), keys.Length, flags);
        }

        byte[] raw = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(keys.Length * Map.ValueBufferSize, 1));
        try
        {
            for (int i = 0; i < keys.Length; i++)
            {
                PerCpuValuesExtensions.Write(values.Slice(i * Cpus, Cpus), raw.AsSpan(i * Map.ValueBufferSize, Map.ValueBufferSize));
            }

            return Map.UpdateBatch(MemoryMarshal.AsBytes(keys), raw.AsSpan(0, keys.Length * Map.ValueBufferSize), keys.Length, flags);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(raw);
        }
    }

    /// <summary>Batch delete (BPF_MAP_DELETE_BATCH, 5.6; not for arrays).</summary>
    /// <param name="keys">Keys.</param>
    /// <returns>Keys deleted.</returns>
    public int DeleteBatch(ReadOnlySpan<TKey> keys) => Map.DeleteBatch(MemoryMarshal.AsBytes(keys), keys.Length);

    /// <summary>Writes one value per CPU at <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="values">Exactly <see cref="Cpus"/> values.</param>
    /// <param name="flags">Update flags.</param>
    /// <exception cref="ArgumentException">Not one value per possible CPU.</exception>
    public void Update(in TKey key, ReadOnlySpan<TValue> values, UpdateFlags flags = UpdateFlags.Any)
    {
        if (values.Length != Map.Cpus)
        {
            BpfErrors.ThrowArgument(nameof(values), $"{values.Length} per-CPU values given but the map has {Map.Cpus} possible CPUs");
        }

        Span<byte> raw = Map.ValueBufferSize <= 1024 ? stackalloc byte[Map.ValueBufferSize] : new byte[Map.ValueBufferSize];
        PerCpuValuesExtensions.Write(values, raw);
        Map.Update(BpfMap<TKey, TValue>.Bytes(in key), raw, flags);
    }

    /// <summary>Deletes <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>False when absent.</returns>
    public bool Delete(in TKey key) => Map.Delete(BpfMap<TKey, TValue>.Bytes(in key));

    /// <summary>Streams typed per-CPU entries.</summary>
    /// <param name="options">Options, or null.</param>
    /// <returns>Enumerable of (key, per-CPU values).</returns>
    public PerCpuEntries<TKey, TValue> Dump(DumpOptions? options = null) => new(Map.Dump(options), Map.Cpus);

    /// <summary>Streams and deletes typed per-CPU entries.</summary>
    /// <param name="options">Options, or null.</param>
    /// <returns>Enumerable of (key, per-CPU values).</returns>
    public PerCpuEntries<TKey, TValue> Drain(DumpOptions? options = null) => new(Map.Drain(options), Map.Cpus);

    private BatchResult ReadBatch(bool delete, BatchCursor cursor, Span<TKey> keys, Span<TValue> values)
    {
        CheckValueCount(values.Length, keys.Length, exact: false);
        if (Unsafe.SizeOf<TValue>() == Map.ValueStride)
        {
            // Each CPU's value fills its 8-byte-aligned slot: the kernel's layout is the array's.
            Span<byte> bytes = MemoryMarshal.AsBytes(values[..(keys.Length * Cpus)]);
            return delete
                ? Map.LookupAndDeleteBatch(cursor, MemoryMarshal.AsBytes(keys), bytes)
                : Map.LookupBatch(cursor, MemoryMarshal.AsBytes(keys), bytes);
        }

        byte[] raw = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(keys.Length * Map.ValueBufferSize, 1));
        try
        {
            Span<byte> rawValues = raw.AsSpan(0, keys.Length * Map.ValueBufferSize);
            BatchResult r = delete
                ? Map.LookupAndDeleteBatch(cursor, MemoryMarshal.AsBytes(keys), rawValues)
                : Map.LookupBatch(cursor, MemoryMarshal.AsBytes(keys), rawValues);
            for (int i = 0; i < r.Count; i++)
            {
                var one = new PerCpuValues<TValue>(rawValues.Slice(i * Map.ValueBufferSize, Map.ValueBufferSize), Cpus);
                for (int c = 0; c < Cpus; c++)
                {
                    values[(i * Cpus) + c] = one[c];
                }
            }

            return r;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private void CheckValueCount(int values, int keys, bool exact)
    {
        long need = (long)keys * Cpus;
        if (exact ? values != need : values < need)
        {
            BpfErrors.ThrowArgument(nameof(values), $"{values} values for {keys} keys of {Cpus} possible CPUs; need {need}");
        }
    }
}
