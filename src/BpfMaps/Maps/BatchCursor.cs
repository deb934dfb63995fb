namespace BpfMaps;

/// <summary>
/// The opaque position of a batch walk (<c>in_batch</c>/<c>out_batch</c>). It is
/// <c>max(key_size, 4)</c> bytes: a bucket index for hash tables, the last key for the
/// generic batch code. A cursor belongs to the map that created it and refuses any other.
/// </summary>
public sealed class BatchCursor
{
    private readonly byte[] _in;
    private readonly byte[] _out;

    internal BatchCursor(BpfMap owner, int keySize)
    {
        Owner = owner;
        int size = Math.Max(keySize, 4);
        _in = new byte[size];
        _out = new byte[size];
    }

    internal BpfMap Owner { get; }

    /// <summary>Whether a batch call has moved the cursor off the start.</summary>
    public bool Started { get; private set; }

    /// <summary>Whether the last batch call reported the end of the map (ENOENT).</summary>
    public bool Exhausted { get; private set; }

    /// <summary>The cursor bytes, as the kernel last wrote them (empty before the first call).</summary>
    public ReadOnlySpan<byte> Position => Started ? _in : ReadOnlySpan<byte>.Empty;

    /// <summary>Size of the cursor in bytes.</summary>
    public int Size => _in.Length;

    /// <summary>Moves the cursor back to the start of the map.</summary>
    public void Reset()
    {
        Started = false;
        Exhausted = false;
        Array.Clear(_in);
    }

    internal ReadOnlySpan<byte> InBatch => Started ? _in : ReadOnlySpan<byte>.Empty;

    internal Span<byte> OutBatch => _out;

    internal void Advance(bool exhausted)
    {
        _out.AsSpan().CopyTo(_in);
        Started = true;
        Exhausted = exhausted;
    }

    internal void MarkExhausted() => Exhausted = true;
}

/// <summary>
/// What one batch call did. A short <see cref="Count"/> does not mean the end: only
/// <see cref="Exhausted"/> does, and it may come with entries.
/// </summary>
/// <param name="Count">Entries returned (and deleted, for lookup-and-delete).</param>
/// <param name="Exhausted">The kernel reported the end of the map (ENOENT).</param>
public readonly record struct BatchResult(int Count, bool Exhausted);
