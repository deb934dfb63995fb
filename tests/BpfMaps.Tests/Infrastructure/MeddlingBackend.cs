using System.Runtime.InteropServices;

namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// Wraps a real kernel backend and, just before chosen get_next_key calls, deletes the key the walk
/// is about to pass (so the kernel really restarts from the first key). Deterministic restarts on
/// the real kernel, without timing.
/// </summary>
public sealed class MeddlingBackend : IMapBackend
{
    private readonly IMapBackend _inner;
    private readonly Func<int, bool> _deleteAtCall;
    private int _calls;

    public MeddlingBackend(IMapBackend inner, Func<int, bool> deleteAtCall)
    {
        _inner = inner;
        _deleteAtCall = deleteAtCall;
    }

    public List<uint> Deleted { get; } = [];

    public MapInfo Info => _inner.Info;

    public int PossibleCpus => _inner.PossibleCpus;

    public SafeHandle? Handle => _inner.Handle;

    public int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty && _deleteAtCall(++_calls) && _inner.Delete(key) == 0)
        {
            Deleted.Add(BitConverter.ToUInt32(key));
        }

        return _inner.GetNextKey(key, nextKey);
    }

    public int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags) => _inner.Lookup(key, value, flags);

    public int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags) => _inner.Update(key, value, flags);

    public int UpdateInner(ReadOnlySpan<byte> key, IMapBackend inner, ulong flags) => _inner.UpdateInner(key, inner, flags);

    public int Delete(ReadOnlySpan<byte> key) => _inner.Delete(key);

    public int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags) => _inner.LookupAndDelete(key, value, flags);

    public int Freeze() => _inner.Freeze();

    public int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => _inner.LookupBatch(andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => _inner.UpdateBatch(keys, values, ref count, elemFlags, flags);

    public int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags)
        => _inner.DeleteBatch(keys, ref count, elemFlags, flags);

    public void Dispose() => _inner.Dispose();
}
