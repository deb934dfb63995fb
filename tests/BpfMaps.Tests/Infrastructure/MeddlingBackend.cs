namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// Wraps a real kernel backend and, just before chosen get_next_key calls, deletes the key the walk
/// is about to pass (so the kernel really restarts from the first key). Deterministic restarts on
/// the real kernel, without timing.
/// </summary>
public sealed class MeddlingBackend(IMapBackend inner, Func<int, bool> deleteAtCall) : DelegatingMapBackend(inner)
{
    private int _calls;

    public List<uint> Deleted { get; } = [];

    public override int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty && deleteAtCall(++_calls) && Inner.Delete(key) == 0)
        {
            Deleted.Add(BitConverter.ToUInt32(key));
        }

        return Inner.GetNextKey(key, nextKey);
    }
}
