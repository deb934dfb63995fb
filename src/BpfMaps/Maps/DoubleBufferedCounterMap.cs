namespace BpfMaps;

/// <summary>
/// What every double-buffered counter map shares, whatever backs it: an outer ARRAY_OF_MAPS whose slot 0
/// holds the active inner map, an idle inner map of the same spec, and the swap-then-drain cycle. A
/// derived class says only how the idle map is put into service (<see cref="Publish"/>), which must not
/// return while a writer may still hold the map it replaces: the kernel's slot update waits for an RCU
/// grace period; the in-process engine waits for its writer sections.
/// </summary>
public abstract class DoubleBufferedCounterMap : ICounterMapDrainer, IDisposable
{
    private BpfMap _active;
    private BpfMap _idle;
    private bool _idleNeedsZeroing;

    /// <summary>Takes ownership of the outer map and both inner maps.</summary>
    /// <param name="outer">The one-slot ARRAY_OF_MAPS.</param>
    /// <param name="active">The inner map slot 0 holds now.</param>
    /// <param name="idle">The inner map that goes into service at the next swap.</param>
    protected DoubleBufferedCounterMap(BpfMap outer, BpfMap active, BpfMap idle)
    {
        ArgumentNullException.ThrowIfNull(outer);
        ArgumentNullException.ThrowIfNull(active);
        ArgumentNullException.ThrowIfNull(idle);
        Outer = outer;
        _active = active;
        _idle = idle;
    }

    /// <summary>The outer ARRAY_OF_MAPS; slot 0 holds the active inner map.</summary>
    public BpfMap Outer { get; }

    /// <summary>The inner map writers count into now.</summary>
    public BpfMap Active => _active;

    /// <summary>The inner map that goes into service at the next swap (empty after a completed drain).</summary>
    public BpfMap Idle => _idle;

    /// <summary>The inner maps' type.</summary>
    public MapType InnerType => _active.Type;

    /// <summary>Swaps done so far.</summary>
    public long Swaps { get; private set; }

    /// <inheritdoc />
    public abstract string MethodName { get; }

    /// <summary>Serializes swaps and drains: one drainer at a time.</summary>
    protected Lock Gate { get; } = new();

    /// <summary>The key of the outer map's only slot.</summary>
    protected static ReadOnlySpan<byte> SlotKey => [0, 0, 0, 0];

    /// <summary>
    /// Makes the maps of a double-buffered counter map: two inner maps from <paramref name="innerSpec"/> and a
    /// one-slot ARRAY_OF_MAPS over them, each with <paramref name="create"/> (how a backend makes a map: the only
    /// thing the kernel and the engine differ in here), then hands all three to <paramref name="construct"/>,
    /// which puts the first into service. Whatever was made is disposed if a step throws.
    /// </summary>
    /// <typeparam name="T">The derived map.</typeparam>
    /// <param name="innerSpec">The spec of each inner map; not itself a map-in-map.</param>
    /// <param name="outerName">Name of the outer map, or null.</param>
    /// <param name="create">Makes one map from a spec.</param>
    /// <param name="construct">Builds the derived map from the outer map, the first and the second inner map, taking ownership.</param>
    /// <returns>The map.</returns>
    /// <exception cref="ArgumentException">The spec is a map-in-map.</exception>
    protected static T CreateMaps<T>(MapSpec innerSpec, string? outerName, Func<MapSpec, BpfMap> create, Func<BpfMap, BpfMap, BpfMap, T> construct)
        where T : DoubleBufferedCounterMap
    {
        ArgumentNullException.ThrowIfNull(innerSpec);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(construct);
        if (innerSpec.Type.IsMapInMap())
        {
            throw new ArgumentException($"inner maps cannot themselves be {innerSpec.Type}", nameof(innerSpec));
        }

        BpfMap? a = null, b = null, outer = null;
        try
        {
            a = create(innerSpec);
            b = create(innerSpec);
            outer = create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = a, Name = outerName });
            T map = construct(outer, a, b);
            a = b = outer = null;
            return map;
        }
        finally
        {
            outer?.Dispose();
            b?.Dispose();
            a?.Dispose();
        }
    }

    /// <summary>
    /// Puts the idle inner map into slot 0 and returns the inner map it replaced. Once this returns,
    /// nothing writes the returned map; drain it before the next swap puts it back into service.
    /// </summary>
    /// <returns>The retired inner map (owned by this object; do not dispose it).</returns>
    /// <exception cref="InvalidOperationException">Another drainer swapped the slot (kernel maps).</exception>
    /// <exception cref="ObjectDisposedException">The map was disposed (in-process maps).</exception>
    /// <exception cref="BpfException">The slot update failed.</exception>
    public BpfMap Swap()
    {
        lock (Gate)
        {
            BeforeSwap(_active);
            if (_idleNeedsZeroing)
            {
                // An array handed out by Drain(): its elements cannot be deleted, so they are zeroed
                // now, while nothing writes them yet.
                ZeroArray(_idle);
                _idleNeedsZeroing = false;
            }

            Publish(_idle);
            (_active, _idle) = (_idle, _active);
            Swaps++;
            return _idle;
        }
    }

    /// <summary>
    /// Swaps (<see cref="Swap"/>) and streams every entry of the retired inner map while deleting it
    /// (<see cref="BpfMap.Drain"/>: BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6, or one element at a time on
    /// older kernels). Nothing writes the retired map, so the read is exact. Array inner maps, whose
    /// elements cannot be deleted, are dumped instead and zeroed when they next go into service. Finish
    /// the enumeration before the next drain: entries of a hash map left behind are not lost (they are
    /// counted again later), but an array is zeroed regardless.
    /// </summary>
    /// <param name="options">Dump options; null for the defaults.</param>
    /// <returns>The entries of the retired map.</returns>
    /// <exception cref="BpfException">The slot update failed; or, during enumeration, a kernel error.</exception>
    public MapEntries Drain(DumpOptions? options = null)
    {
        lock (Gate)
        {
            BpfMap retired = Swap();
            if (retired.Type.IsArray())
            {
                _idleNeedsZeroing = true;
                return retired.Dump(options);
            }

            return retired.Drain(options);
        }
    }

    /// <summary>
    /// Swaps and drains the retired inner map as u64 counters, summed over CPUs for per-CPU maps
    /// (slot update on the outer map, then BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6, on the retired map;
    /// arrays: BPF_MAP_LOOKUP_BATCH and a zeroing BPF_MAP_UPDATE_BATCH).
    /// </summary>
    /// <param name="visitor">Called per counter; null to only sum.</param>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="ArgumentException">The inner maps' values are not 8 bytes.</exception>
    /// <exception cref="BpfException">Kernel errors.</exception>
    public CounterDrainPass DrainCounters(CounterVisitor? visitor = null)
    {
        CounterValues.CheckShape(_active, nameof(visitor));
        lock (Gate)
        {
            MapEntries entries = Drain();
            CounterDrainPass pass = CounterValues.Consume(entries, _idle.Cpus, visitor);
            if (_idleNeedsZeroing)
            {
                ZeroArray(_idle);
                _idleNeedsZeroing = false;
            }

            return pass;
        }
    }

    /// <summary>Sums both inner maps without deleting anything (BPF_MAP_LOOKUP_BATCH).</summary>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="BpfException">Kernel errors.</exception>
    public CounterDrainPass PeekTotals()
    {
        CounterValues.CheckShape(_active, "map");
        lock (Gate)
        {
            BeforeRead();
            CounterDrainPass a = CounterValues.Consume(_active.Dump(), _active.Cpus, null);
            return _idleNeedsZeroing ? a : CounterValues.Consume(_idle.Dump(), _idle.Cpus, null, a.Entries, a.Total);
        }
    }

    /// <summary>Closes the outer and both inner maps.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the outer and both inner maps.</summary>
    /// <param name="disposing">True from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Outer.Dispose();
            _active.Dispose();
            _idle.Dispose();
        }
    }

    /// <summary>
    /// Puts <paramref name="incoming"/> into slot 0; returns only when no writer can still be writing the
    /// map it replaces.
    /// </summary>
    /// <param name="incoming">The inner map to put into service.</param>
    protected abstract void Publish(BpfMap incoming);

    /// <summary>Checks made under the gate before a swap, e.g. that no other drainer swapped the slot.</summary>
    /// <param name="active">The map this object believes is in service.</param>
    protected virtual void BeforeSwap(BpfMap active) => BeforeRead();

    /// <summary>Checks made under the gate before reading the inner maps.</summary>
    protected virtual void BeforeRead()
    {
    }

    private static void ZeroArray(BpfMap array)
    {
        int n = array.MaxEntries;
        byte[] keys = new byte[n * array.KeySize];
        for (int i = 0; i < n; i++)
        {
            BitConverter.TryWriteBytes(keys.AsSpan(i * array.KeySize), i);
        }

        byte[] zeros = new byte[n * array.ValueBufferSize];
        try
        {
            array.UpdateBatch(keys, zeros, n);
        }
        catch (BpfNotSupportedException)
        {
            // Per-CPU arrays have batch updates only since 5.13.
            for (int i = 0; i < n; i++)
            {
                array.Update(keys.AsSpan(i * array.KeySize, array.KeySize), zeros.AsSpan(i * array.ValueBufferSize, array.ValueBufferSize));
            }
        }
    }
}
