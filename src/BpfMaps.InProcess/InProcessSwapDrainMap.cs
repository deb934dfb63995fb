using System.Buffers.Binary;
using BpfMaps.InProcess.Engine;
using BpfMaps.Programs;

namespace BpfMaps.InProcess;

/// <summary>
/// The in-process counterpart of <see cref="SwapDrainMap"/>: a double-buffered counter map that drains
/// without losing increments from live writer threads. An in-process ARRAY_OF_MAPS with one slot holds
/// the id of the active inner map; two inner maps share one spec. Writers add through
/// <see cref="Add(ReadOnlySpan{byte}, ulong)"/> (the engine's atomic add on the active inner map);
/// <see cref="DoubleBufferedCounterMap.Drain"/> swaps the idle map in and drains the one it replaced.
/// </summary>
/// <remarks>
/// <para>
/// Why nothing is lost. The kernel's slot update returns after an RCU grace period, so no program run
/// still holds the old inner map. Here each <see cref="Add(ReadOnlySpan{byte}, ulong)"/> runs inside a
/// read-side section: the writer thread marks its own padded slot (odd sequence, interlocked), reads the
/// published active map, adds, and marks the slot even again. <see cref="DoubleBufferedCounterMap.Swap"/> publishes the idle map
/// with an interlocked exchange, then waits for every slot that was odd to change. Any writer that read
/// the old map was inside its section when the swap published, so the swap waits for it; any writer
/// that enters later reads the new map. Once <see cref="DoubleBufferedCounterMap.Swap"/> returns, nothing writes the retired map.
/// </para>
/// <para>
/// Writers never take a lock or write a shared cache line, and never wait for the drainer; the swap
/// waits only for the adds already in progress. One drainer at a time: swaps and drains are serialized
/// by a lock inside the object. Writers must add through this object; a caller that adds to
/// <see cref="DoubleBufferedCounterMap.Active"/> directly is not waited for (as a BPF program that names an inner map directly
/// is not protected by the kernel's swap either).
/// </para>
/// </remarks>
public sealed class InProcessSwapDrainMap : DoubleBufferedCounterMap
{
    private readonly WriterSections _sections = new();
    private readonly int _keySize;
    private InProcessMapBackend _published;
    private volatile bool _disposed;

    private InProcessSwapDrainMap(BpfMap outer, BpfMap active, BpfMap idle)
        : base(outer, active, idle)
    {
        _published = (InProcessMapBackend)active.Backend;
        _keySize = active.KeySize;
    }

    /// <summary>Adds that were still in progress at a swap and had to be waited for, over all swaps.</summary>
    public long WaitedWriters { get; private set; }

    /// <inheritdoc />
    public override string MethodName => "swap drain (in-process)";

    /// <summary>Test hook: when set, <see cref="DoubleBufferedCounterMap.Swap"/> skips the wait, breaking the guarantee on purpose.</summary>
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
            BpfErrors.Throw(err, KernelCall.AtomicAdd, InnerType);
        }
    }

    /// <summary>
    /// Puts <paramref name="incoming"/> into slot 0 (BPF_MAP_UPDATE_ELEM on the outer map), publishes it to
    /// writers, and waits until every add that may still hold the old map has finished: the in-process
    /// grace period.
    /// </summary>
    /// <param name="incoming">The inner map to put into service.</param>
    protected override void Publish(BpfMap incoming)
    {
        Outer.SetInnerMap(SlotKey, incoming);
        Interlocked.Exchange(ref _published, (InProcessMapBackend)incoming.Backend);
        if (!SkipWriterWaitForTesting)
        {
            WaitedWriters += _sections.WaitForReaders();
        }
    }

    /// <inheritdoc />
    protected override void BeforeRead() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Releases the outer and both inner maps. Adds after this throw <see cref="ObjectDisposedException"/>.</summary>
    /// <param name="disposing">True from Dispose().</param>
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        lock (Gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        // Adds already past the disposed check finish before the maps go.
        _sections.WaitForReaders();
        base.Dispose(disposing);
        _sections.Dispose();
    }
}
