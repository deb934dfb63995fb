using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>
/// One entry's per-CPU values, laid out as the kernel copies them: one <typeparamref name="T"/> per
/// possible CPU at a stride of <c>round_up(sizeof(T), 8)</c>. Indexing hides the stride.
/// </summary>
/// <typeparam name="T">The per-CPU value type.</typeparam>
public readonly ref struct PerCpuValues<T> where T : unmanaged
{
    private readonly ReadOnlySpan<byte> _raw;

    /// <summary>Wraps a raw per-CPU value buffer.</summary>
    /// <param name="raw">The buffer: <paramref name="cpus"/> slots of round_up(sizeof(T), 8) bytes.</param>
    /// <param name="cpus">Number of CPUs in the buffer.</param>
    /// <exception cref="ArgumentException">The buffer is too small.</exception>
    public PerCpuValues(ReadOnlySpan<byte> raw, int cpus)
    {
        Stride = PossibleCpus.Stride(Unsafe.SizeOf<T>());
        if (raw.Length < Stride * cpus)
        {
            BpfErrors.ThrowSize(nameof(raw), "per-CPU buffer", raw.Length, Stride * cpus);
        }

        _raw = raw;
        Count = cpus;
    }

    /// <summary>Number of CPUs.</summary>
    public int Count { get; }

    /// <summary>Bytes between two CPUs' values.</summary>
    public int Stride { get; }

    /// <summary>The value of CPU <paramref name="cpu"/>.</summary>
    /// <param name="cpu">0-based CPU index.</param>
    /// <returns>The value.</returns>
    public T this[int cpu]
    {
        get
        {
            if ((uint)cpu >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"CPU index must be below {Count}");
            }

            return MemoryMarshal.Read<T>(_raw.Slice(cpu * Stride, Unsafe.SizeOf<T>()));
        }
    }

    /// <summary>The raw bytes.</summary>
    public ReadOnlySpan<byte> Raw => _raw[..(Stride * Count)];

    /// <summary>Copies the values into an array.</summary>
    /// <returns>One value per CPU.</returns>
    public T[] ToArray()
    {
        var a = new T[Count];
        for (int i = 0; i < Count; i++)
        {
            a[i] = this[i];
        }

        return a;
    }
}

/// <summary>Aggregations over per-CPU values, and writing them in the kernel's layout.</summary>
public static class PerCpuValuesExtensions
{
    /// <summary>Writes <paramref name="values"/> into a raw per-CPU buffer at the kernel's stride.</summary>
    /// <typeparam name="T">The per-CPU value type.</typeparam>
    /// <param name="values">One value per CPU.</param>
    /// <param name="raw">The destination: values.Length slots of round_up(sizeof(T), 8) bytes.</param>
    public static void Write<T>(ReadOnlySpan<T> values, Span<byte> raw) where T : unmanaged
    {
        int stride = PossibleCpus.Stride(Unsafe.SizeOf<T>());
        if (raw.Length < stride * values.Length)
        {
            BpfErrors.ThrowSize(nameof(raw), "per-CPU buffer", raw.Length, stride * values.Length);
        }

        raw[..(stride * values.Length)].Clear();
        for (int i = 0; i < values.Length; i++)
        {
            T v = values[i];
            MemoryMarshal.Write(raw.Slice(i * stride), in v);
        }
    }

    /// <summary>Sum over all CPUs.</summary>
    /// <typeparam name="T">A numeric type.</typeparam>
    /// <param name="values">The values.</param>
    /// <returns>The sum.</returns>
    public static T Sum<T>(this PerCpuValues<T> values) where T : unmanaged, INumber<T> => values.Reduce().Sum;

    /// <summary>Minimum over all CPUs.</summary>
    /// <typeparam name="T">A numeric type.</typeparam>
    /// <param name="values">The values.</param>
    /// <returns>The minimum.</returns>
    public static T Min<T>(this PerCpuValues<T> values) where T : unmanaged, INumber<T> => values.Reduce().Min;

    /// <summary>Maximum over all CPUs.</summary>
    /// <typeparam name="T">A numeric type.</typeparam>
    /// <param name="values">The values.</param>
    /// <returns>The maximum.</returns>
    public static T Max<T>(this PerCpuValues<T> values) where T : unmanaged, INumber<T> => values.Reduce().Max;

    /// <summary>Mean over all CPUs, as a double.</summary>
    /// <typeparam name="T">A numeric type.</typeparam>
    /// <param name="values">The values.</param>
    /// <returns>The mean.</returns>
    public static double Average<T>(this PerCpuValues<T> values) where T : unmanaged, INumber<T> => values.Reduce().Average;

    /// <summary>Every CPU's value added to a <see cref="PerCpuReduction{T}"/>: sum, min, max and average in one pass.</summary>
    /// <typeparam name="T">A numeric type.</typeparam>
    /// <param name="values">The values.</param>
    /// <returns>The reduction.</returns>
    public static PerCpuReduction<T> Reduce<T>(this PerCpuValues<T> values) where T : unmanaged, INumber<T>
    {
        var r = default(PerCpuReduction<T>);
        for (int i = 0; i < values.Count; i++)
        {
            r.Add(values[i]);
        }

        return r;
    }
}
