using System.Numerics;

namespace BpfMaps;

/// <summary>How the per-CPU values of one entry of a per-CPU map are read: each CPU's, or reduced to one.</summary>
public enum PerCpuMode
{
    /// <summary>Every CPU's value on its own (bpftool's <c>values: [{cpu, value}]</c>, a series per CPU).</summary>
    EachCpu,

    /// <summary>The sum over CPUs.</summary>
    Sum,

    /// <summary>The smallest CPU value.</summary>
    Min,

    /// <summary>The largest CPU value.</summary>
    Max,

    /// <summary>The mean over CPUs.</summary>
    Avg,
}

/// <summary>
/// The per-CPU reduction, written once: add each CPU's value, then read the sum, minimum, maximum or
/// average. Used by <see cref="PerCpuValuesExtensions"/>, the CLI's per-CPU columns and the exporter.
/// Allocates nothing. For integer types the sum wraps, as the kernel's counters do.
/// </summary>
/// <typeparam name="T">The numeric type of one CPU's value.</typeparam>
public struct PerCpuReduction<T> : IEquatable<PerCpuReduction<T>> where T : INumber<T>
{
    private T _sum;
    private T _min;
    private T _max;

    /// <summary>CPU values added so far.</summary>
    public int Count { get; private set; }

    /// <summary>The sum of the values added (zero when none).</summary>
    public readonly T Sum => Count == 0 ? T.Zero : _sum;

    /// <summary>The smallest value added (zero when none).</summary>
    public readonly T Min => Count == 0 ? T.Zero : _min;

    /// <summary>The largest value added (zero when none).</summary>
    public readonly T Max => Count == 0 ? T.Zero : _max;

    /// <summary>The mean of the values added, as a double (zero when none).</summary>
    public readonly double Average => Count == 0 ? 0 : double.CreateTruncating(_sum) / Count;

    /// <summary>Adds one CPU's value.</summary>
    /// <param name="value">The value.</param>
    public void Add(T value)
    {
        if (Count == 0)
        {
            _sum = _min = _max = value;
        }
        else
        {
            _sum = unchecked(_sum + value);
            _min = T.Min(_min, value);
            _max = T.Max(_max, value);
        }

        Count++;
    }

    /// <summary>The reduction <paramref name="mode"/> names, as a double.</summary>
    /// <param name="mode">Sum, Min, Max or Avg.</param>
    /// <returns>The reduced value.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="PerCpuMode.EachCpu"/>, which reduces nothing.</exception>
    public readonly double ToDouble(PerCpuMode mode) => mode switch
    {
        PerCpuMode.Avg => Average,
        _ => double.CreateTruncating(Get(mode)),
    };

    /// <summary>The reduction <paramref name="mode"/> names, exact; the average is truncated to <typeparamref name="T"/>.</summary>
    /// <param name="mode">Sum, Min, Max or Avg.</param>
    /// <returns>The reduced value.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="PerCpuMode.EachCpu"/>, which reduces nothing.</exception>
    public readonly T Get(PerCpuMode mode) => mode switch
    {
        PerCpuMode.Sum => Sum,
        PerCpuMode.Min => Min,
        PerCpuMode.Max => Max,
        PerCpuMode.Avg => Count == 0 ? T.Zero : Sum / T.CreateTruncating(Count),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "EachCpu keeps every CPU's value; there is nothing to reduce"),
    };

    /// <inheritdoc />
    public readonly bool Equals(PerCpuReduction<T> other)
        => Count == other.Count && Sum == other.Sum && Min == other.Min && Max == other.Max;

    /// <inheritdoc />
    public override readonly bool Equals(object? obj) => obj is PerCpuReduction<T> other && Equals(other);

    /// <inheritdoc />
    public override readonly int GetHashCode() => HashCode.Combine(Count, Sum, Min, Max);

    /// <summary>Whether two reductions saw the same values' sum, minimum, maximum and count.</summary>
    public static bool operator ==(PerCpuReduction<T> left, PerCpuReduction<T> right) => left.Equals(right);

    /// <summary>Whether two reductions differ.</summary>
    public static bool operator !=(PerCpuReduction<T> left, PerCpuReduction<T> right) => !left.Equals(right);
}
