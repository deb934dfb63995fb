namespace BpfMaps.Tests.Infrastructure;

/// <summary>Runs just before a get_next_key call that passes a key: the inner backend, that key, and the call's number (from 1).</summary>
public delegate void GetNextKeyHook(IMapBackend inner, ReadOnlySpan<byte> key, int call);

/// <summary>
/// Wraps a real backend and lets a test change the map just before chosen get_next_key calls, with
/// the key the walk stands on at hand: deterministic churn (a key re-inserted at the head of its
/// bucket, a restart onto a key the walk never met) on the real kernel, without timing.
/// </summary>
public sealed class GetNextKeyHookBackend(IMapBackend inner, GetNextKeyHook hook) : DelegatingMapBackend(inner)
{
    /// <summary>get_next_key calls made through this backend.</summary>
    public int Calls { get; private set; }

    public override int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        Calls++;
        if (!key.IsEmpty)
        {
            hook(Inner, key, Calls);
        }

        return Inner.GetNextKey(key, nextKey);
    }
}
