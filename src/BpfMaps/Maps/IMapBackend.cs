using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>
/// The contract a map backend fulfils: the kernel (<see cref="KernelMapBackend"/>) or the
/// in-process engine. Methods mirror the bpf() map commands one-to-one, take the same
/// buffers and return 0 or the errno the kernel would return. Backends do not validate
/// sizes beyond what the kernel itself checks; <see cref="BpfMap"/> does that.
/// </summary>
/// <remarks>
/// Buffers follow the kernel's layout: values of per-CPU maps hold
/// <c>round_up(value_size, 8)</c> bytes for each possible CPU; map-in-map values are u32
/// (an fd when written, an id when read).
/// </remarks>
public interface IMapBackend : IDisposable
{
    /// <summary>What the map is, as BPF_OBJ_GET_INFO_BY_FD reports it.</summary>
    MapInfo Info { get; }

    /// <summary>The number of possible CPUs per-CPU values are laid out for.</summary>
    int PossibleCpus { get; }

    /// <summary>The kernel descriptor, or null for backends without one.</summary>
    SafeHandle? Handle { get; }

    /// <summary>
    /// The BTF that <see cref="MapInfo.BtfKeyTypeId"/> and <see cref="MapInfo.BtfValueTypeId"/> refer to, or
    /// null when the map has none. The default, for backends that keep no BTF, is null.
    /// </summary>
    /// <returns>The BTF, or null.</returns>
    /// <exception cref="BpfException">The kernel refused to hand the BTF out.</exception>
    /// <exception cref="Btf.BtfException">The BTF is malformed.</exception>
    Btf.BtfSpec? LoadBtf() => null;

    /// <summary>Whether the map is frozen (BPF_MAP_FREEZE). The default, for backends that cannot tell, is false.</summary>
    bool IsFrozen => false;

    /// <summary>BPF_MAP_LOOKUP_ELEM.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">Receives the value.</param>
    /// <param name="flags">0 or BPF_F_LOCK.</param>
    /// <returns>0 or errno.</returns>
    int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags);

    /// <summary>BPF_MAP_UPDATE_ELEM.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="flags">Update flags.</param>
    /// <returns>0 or errno.</returns>
    int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags);

    /// <summary>
    /// BPF_MAP_UPDATE_ELEM on a map-in-map with <paramref name="inner"/> as the value, named the way
    /// this backend names maps: the kernel by the inner map's descriptor, the in-process engine by
    /// its object id.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="inner">The inner map's backend, of the same kind as this one.</param>
    /// <param name="flags">Update flags.</param>
    /// <returns>0 or errno (EBADF when <paramref name="inner"/> is closed or of another kind). The default,
    /// for backends that hold no map-in-maps, is EOPNOTSUPP.</returns>
    int UpdateInner(ReadOnlySpan<byte> key, IMapBackend inner, ulong flags) => Errno.EOPNOTSUPP;

    /// <summary>BPF_MAP_DELETE_ELEM.</summary>
    /// <param name="key">The key.</param>
    /// <returns>0 or errno.</returns>
    int Delete(ReadOnlySpan<byte> key);

    /// <summary>BPF_MAP_GET_NEXT_KEY; an empty <paramref name="key"/> asks for the first key.</summary>
    /// <param name="key">The previous key, or empty.</param>
    /// <param name="nextKey">Receives the next key.</param>
    /// <returns>0 or errno.</returns>
    int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey);

    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_ELEM.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">Receives the value.</param>
    /// <param name="flags">0 or BPF_F_LOCK.</param>
    /// <returns>0 or errno.</returns>
    int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags);

    /// <summary>BPF_MAP_FREEZE.</summary>
    /// <returns>0 or errno.</returns>
    int Freeze();

    /// <summary>BPF_MAP_LOOKUP_BATCH, or BPF_MAP_LOOKUP_AND_DELETE_BATCH when <paramref name="andDelete"/> is set.</summary>
    /// <param name="andDelete">Whether to delete what is returned.</param>
    /// <param name="inBatch">Cursor to start from, or empty to start at the beginning.</param>
    /// <param name="outBatch">Receives the next cursor.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values.</param>
    /// <param name="count">In: capacity in entries. Out: entries returned.</param>
    /// <param name="elemFlags">elem_flags.</param>
    /// <param name="flags">flags (must be 0).</param>
    /// <returns>0 or errno.</returns>
    int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags);

    /// <summary>BPF_MAP_UPDATE_BATCH.</summary>
    /// <param name="keys">Keys.</param>
    /// <param name="values">Values.</param>
    /// <param name="count">In: entries. Out: entries written.</param>
    /// <param name="elemFlags">Update flags.</param>
    /// <param name="flags">flags (must be 0).</param>
    /// <returns>0 or errno.</returns>
    int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags);

    /// <summary>BPF_MAP_DELETE_BATCH.</summary>
    /// <param name="keys">Keys.</param>
    /// <param name="count">In: keys. Out: keys deleted.</param>
    /// <param name="elemFlags">elem_flags.</param>
    /// <param name="flags">flags (must be 0).</param>
    /// <returns>0 or errno.</returns>
    int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags);
}
