using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// The memory of an array created with <see cref="MapFlags.Mmapable"/> (BPF_F_MMAPABLE, Linux 5.5), mapped
/// into this process: element <c>i</c> starts at byte <c>i * ElementStride</c>, where the stride is
/// <c>round_up(value_size, 8)</c>. Reads and writes go straight to the map that BPF programs see, with no
/// syscall; nothing orders them against a program's accesses (use atomics in both for shared counters).
/// From <see cref="BpfMap.OpenMemory"/>.
/// </summary>
/// <remarks>
/// Spans handed out are valid until <see cref="Dispose"/>, which unmaps the memory: do not dispose while
/// another thread still uses a span. A writable mapping keeps the map from being frozen (BPF_MAP_FREEZE
/// fails with EBUSY), and a frozen map can only be mapped read-only.
/// </remarks>
public sealed unsafe class MapMemory : IDisposable
{
    private readonly MappedRegion _region;
    private readonly byte* _base;

    internal MapMemory(MappedRegion region, int count, int valueSize)
    {
        _region = region;
        _base = region.Address;
        Count = count;
        ValueSize = valueSize;
        ElementStride = PossibleCpus.Stride(valueSize);
        Length = checked(count * ElementStride);
    }

    /// <summary>Elements (<c>max_entries</c>).</summary>
    public int Count { get; }

    /// <summary>Bytes of one value (<c>value_size</c>).</summary>
    public int ValueSize { get; }

    /// <summary>Bytes from one element to the next: <c>round_up(value_size, 8)</c>.</summary>
    public int ElementStride { get; }

    /// <summary>Bytes of all elements: <see cref="Count"/> times <see cref="ElementStride"/> (the mapping itself is rounded up to pages).</summary>
    public int Length { get; }

    /// <summary>Whether the memory was mapped for writing.</summary>
    public bool IsWritable => _region.Writable;

    /// <summary>Every element's bytes, padding included.</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public ReadOnlySpan<byte> Bytes => new(Base, Length);

    /// <summary>Every element's bytes, for writing.</summary>
    /// <exception cref="InvalidOperationException">The memory was mapped read-only.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Span<byte> WritableBytes => new(WritableBase, Length);

    /// <summary>The <see cref="ValueSize"/> bytes of element <paramref name="index"/>.</summary>
    /// <param name="index">The element, below <see cref="Count"/>.</param>
    /// <returns>The value's bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The index is negative or not below <see cref="Count"/>.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public ReadOnlySpan<byte> GetElement(int index) => new(Base + Offset(index), ValueSize);

    /// <summary>The <see cref="ValueSize"/> bytes of element <paramref name="index"/>, for writing.</summary>
    /// <param name="index">The element.</param>
    /// <returns>The value's bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    /// <exception cref="InvalidOperationException">The memory was mapped read-only.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Span<byte> GetWritableElement(int index) => new(WritableBase + Offset(index), ValueSize);

    /// <summary>
    /// The elements as <typeparamref name="T"/>, one per element: <typeparamref name="T"/> must be exactly
    /// <see cref="ElementStride"/> bytes (a u64 for 8-byte values; for a 4-byte value, a T with 4 bytes of
    /// padding, or use <see cref="Read{T}"/>).
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <returns>The elements.</returns>
    /// <exception cref="ArgumentException">The size of <typeparamref name="T"/> is not the element stride.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public ReadOnlySpan<T> AsReadOnlySpan<T>() where T : unmanaged
    {
        CheckStride<T>();
        return new(Base, Count);
    }

    /// <summary>Like <see cref="AsReadOnlySpan{T}"/>, for writing.</summary>
    /// <typeparam name="T">The element type, <see cref="ElementStride"/> bytes.</typeparam>
    /// <returns>The elements.</returns>
    /// <exception cref="ArgumentException">The size of <typeparamref name="T"/> is not the element stride.</exception>
    /// <exception cref="InvalidOperationException">The memory was mapped read-only.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        CheckStride<T>();
        return new(WritableBase, Count);
    }

    /// <summary>Reads element <paramref name="index"/> as <typeparamref name="T"/>, which must be <see cref="ValueSize"/> bytes.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="index">The element.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ArgumentException">The size of <typeparamref name="T"/> is not the value size.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public T Read<T>(int index) where T : unmanaged
    {
        CheckValue<T>();
        return Unsafe.ReadUnaligned<T>(Base + Offset(index));
    }

    /// <summary>Writes element <paramref name="index"/> as <typeparamref name="T"/>, which must be <see cref="ValueSize"/> bytes.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="index">The element.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentException">The size of <typeparamref name="T"/> is not the value size.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    /// <exception cref="InvalidOperationException">The memory was mapped read-only.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public void Write<T>(int index, in T value) where T : unmanaged
    {
        CheckValue<T>();
        Unsafe.WriteUnaligned(WritableBase + Offset(index), value);
    }

    /// <summary>Unmaps the memory (once; spans handed out before must not be used after).</summary>
    public void Dispose() => _region.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{Count} elements of {ValueSize} bytes every {ElementStride}, {(IsWritable ? "read-write" : "read-only")}";

    private byte* Base
    {
        get
        {
            ObjectDisposedException.ThrowIf(_region.IsClosed, this);
            return _base;
        }
    }

    private byte* WritableBase
    {
        get
        {
            if (!_region.Writable)
            {
                throw new InvalidOperationException("the memory was mapped read-only (OpenMemory(writable: false), or the map is frozen)");
            }

            return Base;
        }
    }

    private nint Offset(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the array has {Count} elements");
        }

        return (nint)index * ElementStride;
    }

    private void CheckStride<T>() where T : unmanaged
    {
        if (sizeof(T) != ElementStride)
        {
            throw new ArgumentException($"{typeof(T).Name} is {sizeof(T)} bytes but the elements are {ElementStride} bytes apart (value_size {ValueSize} rounded up to 8); use a type of {ElementStride} bytes, or Read/Write", nameof(T));
        }
    }

    private void CheckValue<T>() where T : unmanaged
    {
        if (sizeof(T) != ValueSize)
        {
            BpfErrors.ThrowSize(nameof(T), typeof(T).Name, sizeof(T), ValueSize);
        }
    }
}
