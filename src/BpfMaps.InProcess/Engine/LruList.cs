namespace BpfMaps.InProcess.Engine;

/// <summary>
/// The LRU order of a table's elements by last update: the element written last at the head, the next to evict
/// at the <see cref="Tail"/>. A strict order under one lock, where the kernel keeps per-CPU lists and
/// reference bits (see "LRU order" in docs/performance.md).
/// </summary>
/// <remarks>
/// Elements are the table's indices, 0 to capacity - 1. Every call takes the list's own lock, so a table may
/// call it under its bucket locks; the list never calls back into the table.
/// </remarks>
internal sealed class LruList
{
    private readonly int[] _prev;
    private readonly int[] _next;
    private readonly bool[] _onList;
    private readonly Lock _lock = new();
    private int _head = -1;
    private int _tail = -1;

    public LruList(int capacity)
    {
        _prev = new int[capacity];
        _next = new int[capacity];
        _onList = new bool[capacity];
    }

    /// <summary>The bytes a list over <paramref name="capacity"/> elements allocates.</summary>
    public static long StorageBytes(int capacity) => 9L * capacity;

    /// <summary>The least recently updated element, or -1 when the list is empty.</summary>
    public int Tail
    {
        get
        {
            lock (_lock)
            {
                return _tail;
            }
        }
    }

    /// <summary>Whether <paramref name="index"/> is on the list.</summary>
    public bool Contains(int index)
    {
        lock (_lock)
        {
            return _onList[index];
        }
    }

    /// <summary>Puts <paramref name="index"/>, which must not be on the list, at the head.</summary>
    public void PushFront(int index)
    {
        lock (_lock)
        {
            LinkFront(index);
        }
    }

    /// <summary>Moves <paramref name="index"/> to the head if it is on the list; does nothing if it is not.</summary>
    public void Touch(int index)
    {
        lock (_lock)
        {
            if (_onList[index] && _head != index)
            {
                Unlink(index);
                LinkFront(index);
            }
        }
    }

    /// <summary>Takes <paramref name="index"/> off the list if it is on it.</summary>
    public void Remove(int index)
    {
        lock (_lock)
        {
            if (_onList[index])
            {
                Unlink(index);
            }
        }
    }

    private void LinkFront(int index)
    {
        _prev[index] = -1;
        _next[index] = _head;
        if (_head >= 0)
        {
            _prev[_head] = index;
        }
        else
        {
            _tail = index;
        }

        _head = index;
        _onList[index] = true;
    }

    private void Unlink(int index)
    {
        int p = _prev[index];
        int n = _next[index];
        if (p >= 0)
        {
            _next[p] = n;
        }
        else
        {
            _head = n;
        }

        if (n >= 0)
        {
            _prev[n] = p;
        }
        else
        {
            _tail = p;
        }

        _onList[index] = false;
    }
}
