using System.Buffers.Binary;
using BpfMaps.InProcess.Engine;
using BpfMaps.Programs;

namespace BpfMaps.InProcess;

/// <summary>
/// The in-process counterpart of <see cref="SwapDrainMap"/>: a double-buffered counter map that drains
/// without losing increments from live writer threads. An in-process ARRAY_OF_MAPS with one slot holds
/// the id of the active inner map; two inner maps share one spec. Writers add through
/// <see cref="Add(ReadOnlySpan{byte}, ulong)"/> (the engine's atomic add on the active inner map);
/// <see cref="Drain"/> swaps the idle map in and drains the one it replaced.
/// </summary>
/// <remarks>
/// <para>
/// Why nothing is lost. The kernel's slot update returns after an RCU grace period, so no program run
/// still holds the old inner map. Here each <see cref="Add(ReadOnlySpan{byte}, ulong)"/> runs inside a
/// read-side section: the writer thread marks its own padded slot (odd sequence, interlocked), reads the
/// published active map, adds, and marks the slot even again. <see cref="Swap"/> publishes the idle map
/// with an interlocked exchange, then waits for every slot that was odd to change. Any writer that read
/// the old map was inside its section when the swap published, so the swap waits for it; any writer
/// that enters later reads the new map. Once <see cref="Swap"/> returns, nothing writes the retired map.
/// </para>
/// <para>
/// Writers never take a lock or write a shared cache line, and never wait for the drainer; the swap
/// waits only for the adds already in progress. One drainer at a time: swaps and drains are serialized
/// by a lock inside the object. Writers must add through this object; a caller that adds to
/// <see cref="Active"/> directly is not waited for (as a BPF program that names an inner map directly
/// is not protected by the kernel's swap either).
/// </para>
/// </remarks>
public sealed class InProcessSwapDrainMap : ICounterMapDrainer, IDisposable
{
    private readonly Lock _gate = new();
    private readonly WriterSections _sections = new();
    private readonly int _keySize;
    private BpfMap _active;
    private BpfMap _idle;
    private InProcessMapBackend _published;
    private bool _idleNeedsZeroing;
    private volatile bool _disposed;

    private InProcessSwapDrainMap(BpfMap outer, BpfMap active, BpfMap idle)
    {
        Outer = outer;
        _active = active;
        _idle = idle;
        _published = (InProcessMapBackend)active.Backend;
        _keySize = active.KeySize;
    }

    /// <summary>The outer in-process ARRAY_OF_MAPS; slot 0 holds the id of the active inner map.</summary>
    public BpfMap Outer { get; }

    /// <summary>The inner map writers add to now.</summary>
    public BpfMap Active => _active;

    /// <summary>The inner map that goes into service at the next swap (empty after a completed drain).</summary>
    public BpfMap Idle => _idle;

    /// <summary>The inner maps' type.</summary>
    public MapType InnerType => _active.Type;

    /// <summary>Swaps done so far.</summary>
    public long Swaps { get; private set; }

    /// <summary>Adds that were still in progress at a swap and had to be waited for, over all swaps.</summary>
    public long WaitedWriters { get; private set; }

    /// <inheritdoc />
    public string MethodName => "swap drain (in-process)";

    /// <summary>Test hook: when set, <see cref="Swap"/> skips the wait, breaking the guarantee on purpose.</summary>
    internal bool SkipWriterWaitForTesting { get; set; }

    /// <summary>
    /// Creates an in-process ARRAY_OF_MAPS and two inner maps from <paramref name="innerSpec"/>
    /// (<see cref="InProcessMap.Create"/>) and puts the first into slot 0.
    /// </summary>
    /// <param name="innerSpec">The spec of each inner map: a hash or array type whose values are u64 (or u32) counters; not a map-in-map.</param>
    /// <param name="options">Engine options for all three maps; null for the defaults.</param>
    /// <param name="outerName">Name of the outer map (at most 15 characters), or null.</param>
    /// <returns>The map; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The spec is a map-in-map, its values are not 4 or 8 bytes, or it is otherwise invalid.</exception>
    /// <exception cref="BpfException">The kernel would refuse the spec (EINVAL, E2BIG).</exception>
    /// <exception cref="NotSupportedException">A map type the engine does not implement.</exception>
    public static InProcessSwapDrainMap Create(MapSpec innerSpec, InProcessOptions? options = null, string? outerName = null)
    {
        ArgumentNullException.ThrowIfNull(innerSpec);
        if (innerSpec.Type.IsMapInMap())
        {
            throw new ArgumentException($"inner maps cannot themselves be {innerSpec.Type}", nameof(innerSpec));
        }

        if (innerSpec.ValueSize is not (4 or 8))
        {
            throw new ArgumentException($"counters are u32 or u64: the value size is {innerSpec.ValueSize} bytes, expected 4 or 8", nameof(innerSpec));
        }

        BpfMap? a = null, b = null, outer = null;
        try
        {
            a = InProcessMap.Create(innerSpec, options);
            b = InProcessMap.Create(innerSpec, options);
            outer = InProcessMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = a, Name = outerName }, options);
            outer.SetInnerMap(SlotKey, a);
            var map = new InProcessSwapDrainMap(outer, a, b);
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

    private static ReadOnlySpan<byte> SlotKey => [0, 0, 0, 0];

    /// <summary>
    /// Adds <paramref name="delta"/> to the counter at <paramref name="key"/> in the active inner map with
    /// the engine's atomic add (<see cref="InProcessMap.AtomicAdd(BpfMap, ReadOnlySpan{byte}, ulong)"/>),
    /// creating it when missing; per-CPU maps add to the current CPU's slot. What a BPF program that looks
    /// up slot 0 and then <c>__sync_fetch_and_add</c>s does. Thread-safe and lock-free; never waits for a drain.
    /// </summary>
    /// <param name="key">key_size bytes.</param>
    /// <param name="delta">What to add (wrapping).</param>
    /// <exception cref="ArgumentException">The key is not key_size bytes.</exception>
    /// <exception cref="BpfException">E2BIG: the hash map is full or an array index is past the end.</exception>
    /// <exception cref="ObjectDisposedException">The map was disposed.</exception>
    public void Add(ReadOnlySpan<byte> key, ulong delta)
    {
        if (key.Length != _keySize)
        {
            BpfErrors.ThrowArgument(nameof(key), $"the key is {key.Length} bytes, expected key_size {_keySize}");
        }

        AddCore(key, delta, null);
    }

    /// <summary>Typed form of <see cref="Add(ReadOnlySpan{byte}, ulong)"/> for u32 keys.</summary>
    /// <param name="key">The key.</param>
    /// <param name="delta">What to add.</param>
    /// <exception cref="ArgumentException">The inner maps' key_size is not 4.</exception>
    /// <exception cref="BpfException">E2BIG: full, or an array index past the end.</exception>
    /// <exception cref="ObjectDisposedException">The map was disposed.</exception>
    public void Add(uint key, ulong delta)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, key);
        Add(bytes, delta);
    }

    /// <summary>The add inside a writer section; <paramref name="insideSection"/> lets tests park a writer holding the map it read.</summary>
    internal void AddCore(ReadOnlySpan<byte> key, ulong delta, Action? insideSection)
    {
        WriterSections.Slot slot = _sections.Enter();
        int err;
        try
        {
            // Checked inside the section: Dispose sets the flag and then waits for sections, so either
            // this add sees the flag or Dispose waits for it before releasing the maps.
            ObjectDisposedException.ThrowIf(_disposed, this);
            InProcessMapBackend target = Volatile.Read(ref _published);
            insideSection?.Invoke();
            err = target.AtomicAdd(key, delta);
        }
        finally
        {
            WriterSections.Exit(slot);
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, "atomic add", _active.Type.ToString());
        }
    }

    /// <summary>
    /// Puts the idle inner map into slot 0 (BPF_MAP_UPDATE_ELEM on the outer map), publishes it to
    /// writers, and waits until every add that may still hold the old map has finished: the in-process
    /// grace period. Once this returns nothing writes the returned map; drain it before the next swap
    /// puts it back into service.
    /// </summary>
    /// <returns>The retired inner map (owned by this object; do not dispose it).</returns>
    /// <exception cref="ObjectDisposedException">The map was disposed.</exception>
    public BpfMap Swap()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idleNeedsZeroing)
            {
                // An array handed out by Drain(): its elements cannot be deleted, so they are zeroed
                // now, while nothing writes them yet.
                ZeroArray(_idle);
                _idleNeedsZeroing = false;
            }

            Outer.SetInnerMap(SlotKey, _idle);
            Interlocked.Exchange(ref _published, (InProcessMapBackend)_idle.Backend);
            if (!SkipWriterWaitForTesting)
            {
                WaitedWriters += _sections.WaitForReaders();
            }

            (_active, _idle) = (_idle, _active);
            Swaps++;
            return _idle;
        }
    }

    /// <summary>
    /// Swaps (<see cref="Swap"/>) and streams every entry of the retired inner map while deleting it
    /// (<see cref="BpfMap.Drain"/>). Nothing writes the retired map, so the read is exact. Array inner
    /// maps are dumped instead and zeroed when they next go into service. Finish the enumeration
    /// before the next drain.
    /// </summary>
    /// <param name="options">Dump options; null for the defaults.</param>
    /// <returns>The entries of the retired map.</returns>
    /// <exception cref="ObjectDisposedException">The map was disposed.</exception>
    public MapEntries Drain(DumpOptions? options = null)
    {
        lock (_gate)
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
    /// Swaps and drains the retired inner map as u64 counters, summed over CPUs for per-CPU maps.
    /// </summary>
    /// <param name="visitor">Called per counter; null to only sum.</param>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="ArgumentException">The inner maps' values are not 8 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The map was disposed.</exception>
    public CounterDrainPass DrainCounters(CounterVisitor? visitor = null)
    {
        CounterValues.CheckShape(_active, nameof(visitor));
        lock (_gate)
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

    /// <summary>Sums both inner maps without deleting anything.</summary>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="ArgumentException">The inner maps' values are not 8 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The map was disposed.</exception>
    public CounterDrainPass PeekTotals()
    {
        CounterValues.CheckShape(_active, "map");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CounterDrainPass a = CounterValues.Consume(_active.Dump(), _active.Cpus, null);
            return _idleNeedsZeroing ? a : CounterValues.Consume(_idle.Dump(), _idle.Cpus, null, a.Entries, a.Total);
        }
    }

    private static void ZeroArray(BpfMap array)
    {
        Span<byte> key = stackalloc byte[4];
        byte[] zeros = new byte[array.ValueBufferSize];
        for (int i = 0; i < array.MaxEntries; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(key, i);
            array.Update(key, zeros);
        }
    }

    /// <summary>Releases the outer and both inner maps. Adds after this throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        // Adds already past the disposed check finish before the maps go.
        _sections.WaitForReaders();
        Outer.Dispose();
        _active.Dispose();
        _idle.Dispose();
        _sections.Dispose();
    }
}
