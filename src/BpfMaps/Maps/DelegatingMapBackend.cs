using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>
/// A backend that passes every call on to another one. Derive from it to watch or change a few
/// calls (logging, fault injection in tests, a delete between two get_next_key calls) and inherit
/// the rest unchanged. This is the library's extension point for backends, with
/// <see cref="BpfMap(IMapBackend)"/>: see "Extension point: map backends" in docs/architecture.md.
/// </summary>
/// <example>
/// A decorator that counts lookups (compiled and run in <c>tests/BpfMaps.InProcess.Tests/BackendExtensionTests.cs</c>):
/// <code>
/// sealed class CountingBackend(IMapBackend inner) : DelegatingMapBackend(inner, ownsInner: false)
/// {
///     public int Lookups { get; private set; }
///
///     public override int Lookup(ReadOnlySpan&lt;byte&gt; key, Span&lt;byte&gt; value, ulong flags)
///     {
///         Lookups++;
///         return base.Lookup(key, value, flags);
///     }
/// }
///
/// using BpfMap map = BpfMap.Create(spec);
/// using var counted = new BpfMap(new CountingBackend(map.Backend));
/// </code>
/// </example>
/// <param name="inner">The backend calls go to.</param>
/// <param name="ownsInner">Whether disposing this disposes <paramref name="inner"/>.</param>
public abstract class DelegatingMapBackend(IMapBackend inner, bool ownsInner = true) : IMapBackend
{
    /// <summary>The backend calls go to.</summary>
    protected IMapBackend Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The backend under any number of decorators: what a backend checks when it must know what kind of map it was given.</summary>
    /// <param name="backend">A backend, decorated or not.</param>
    /// <returns>The innermost backend.</returns>
    public static IMapBackend Innermost(IMapBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        while (backend is DelegatingMapBackend d)
        {
            backend = d.Inner;
        }

        return backend;
    }

    /// <inheritdoc />
    public virtual MapInfo Info => Inner.Info;

    /// <inheritdoc />
    public virtual int PossibleCpus => Inner.PossibleCpus;

    /// <inheritdoc />
    public virtual SafeHandle? Handle => Inner.Handle;

    /// <inheritdoc />
    public virtual Btf.BtfSpec? LoadBtf() => Inner.LoadBtf();

    /// <inheritdoc />
    public virtual int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags) => Inner.Lookup(key, value, flags);

    /// <inheritdoc />
    public virtual int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags) => Inner.Update(key, value, flags);

    /// <inheritdoc />
    public virtual int UpdateInner(ReadOnlySpan<byte> key, IMapBackend inner, ulong flags) => Inner.UpdateInner(key, inner, flags);

    /// <inheritdoc />
    public virtual int Delete(ReadOnlySpan<byte> key) => Inner.Delete(key);

    /// <inheritdoc />
    public virtual int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey) => Inner.GetNextKey(key, nextKey);

    /// <inheritdoc />
    public virtual int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags) => Inner.LookupAndDelete(key, value, flags);

    /// <inheritdoc />
    public virtual int Freeze() => Inner.Freeze();

    /// <inheritdoc />
    public virtual bool IsFrozen => Inner.IsFrozen;

    /// <inheritdoc />
    public virtual int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => Inner.LookupBatch(andDelete, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    /// <inheritdoc />
    public virtual int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => Inner.UpdateBatch(keys, values, ref count, elemFlags, flags);

    /// <inheritdoc />
    public virtual int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags)
        => Inner.DeleteBatch(keys, ref count, elemFlags, flags);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes <see cref="Inner"/> when this backend owns it.</summary>
    /// <param name="disposing">False when called from a finalizer.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && ownsInner)
        {
            Inner.Dispose();
        }
    }
}
