using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// Which elements of a preallocated element array are free, as the kernel's htab freelist: a lock-free stack
/// of returned elements, then the tail of elements never handed out. <see cref="Take"/> fails (-1) exactly when
/// all <see cref="Capacity"/> elements are taken.
/// </summary>
/// <remarks>
/// <para>The stack is threaded through the elements themselves: while an element is free, its first four bytes
/// hold the index of the next free one. While it is taken, its owner may use all its bytes; the first four stay
/// the owner's chain link, so a reader racing a <see cref="Return"/> follows a link that is still an index.</para>
/// <para>The head is <c>(tag &lt;&lt; 32) | (index + 1)</c>, and every push and pop bumps the tag, so a pop that
/// read a top element which was taken and returned meanwhile fails its CAS instead of installing a stale link
/// (no ABA). A zero low half means the stack is empty.</para>
/// </remarks>
internal sealed class FreeElementStack
{
    private readonly byte[] _elements;
    private readonly int _stride;
    private long _head;
    private int _highWater;

    /// <param name="elements">The element array, <paramref name="stride"/> bytes per element; the stack writes only the first four bytes of free ones.</param>
    /// <param name="stride">Bytes from one element to the next, at least 4.</param>
    /// <param name="capacity">How many elements there are.</param>
    public FreeElementStack(byte[] elements, int stride, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, sizeof(int));
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if ((long)stride * capacity > elements.Length)
        {
            throw new ArgumentException($"{capacity} elements of {stride} bytes do not fit in {elements.Length} bytes", nameof(elements));
        }

        _elements = elements;
        _stride = stride;
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>How many elements were ever handed out: the never-used tail starts here.</summary>
    public int HighWater => Volatile.Read(ref _highWater);

    /// <summary>Takes a free element: the one returned last, else the first never used; -1 when all are taken.</summary>
    public int Take()
    {
        long head = Volatile.Read(ref _head);
        while ((int)head != 0)
        {
            int top = (int)head - 1;
            int next = Volatile.Read(ref Link(top));
            long replacement = ((head >>> 32) + 1) << 32 | (uint)(next + 1);
            long seen = Interlocked.CompareExchange(ref _head, replacement, head);
            if (seen == head)
            {
                return top;
            }

            head = seen;
        }

        int hw = Volatile.Read(ref _highWater);
        while (hw < Capacity)
        {
            int seen = Interlocked.CompareExchange(ref _highWater, hw + 1, hw);
            if (seen == hw)
            {
                return hw;
            }

            hw = seen;
        }

        return -1;
    }

    /// <summary>Gives back <paramref name="index"/>, which <see cref="Take"/> handed out and nobody uses any more.</summary>
    public void Return(int index)
    {
        long head = Volatile.Read(ref _head);
        while (true)
        {
            Volatile.Write(ref Link(index), (int)head - 1);
            long replacement = ((head >>> 32) + 1) << 32 | (uint)(index + 1);
            long seen = Interlocked.CompareExchange(ref _head, replacement, head);
            if (seen == head)
            {
                return;
            }

            head = seen;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Link(int index)
        => ref Unsafe.As<byte, int>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_elements), (nint)index * _stride));
}
