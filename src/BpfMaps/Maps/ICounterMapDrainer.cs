namespace BpfMaps;

/// <summary>Receives one drained counter: its key bytes and its value (summed over CPUs for per-CPU maps).</summary>
/// <param name="key">The key bytes, valid only during the call.</param>
/// <param name="total">The counter's value.</param>
public delegate void CounterVisitor(ReadOnlySpan<byte> key, ulong total);

/// <summary>What one drain pass took out of a counter map.</summary>
/// <param name="Entries">Counters (keys) taken.</param>
/// <param name="Total">Sum of their values.</param>
public readonly record struct CounterDrainPass(int Entries, ulong Total);

/// <summary>
/// Takes every u64 counter out of a map that BPF programs keep incrementing. Implementations differ in
/// what they can lose: a live map drained while programs write it loses the increments that land between
/// a program's lookup and the drainer's delete; a <see cref="SwapDrainMap"/> loses none.
/// </summary>
/// <remarks>
/// This is the seam for other backends: an in-process engine supplies its own drainer (or builds a
/// <see cref="SwapDrainMap"/> with <see cref="SwapDrainMap.FromMaps"/> over its maps, provided its slot
/// update waits for writers that still see the old inner map, as the kernel's does).
/// </remarks>
public interface ICounterMapDrainer
{
    /// <summary>A short name of the method, for reports.</summary>
    string MethodName { get; }

    /// <summary>Drains once: every counter present is read, deleted (or retired) and reported.</summary>
    /// <param name="visitor">Called per counter; null to only sum.</param>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="BpfException">Kernel errors.</exception>
    CounterDrainPass DrainCounters(CounterVisitor? visitor = null);

    /// <summary>Sums what the map holds now, without deleting anything.</summary>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="BpfException">Kernel errors.</exception>
    CounterDrainPass PeekTotals();
}
