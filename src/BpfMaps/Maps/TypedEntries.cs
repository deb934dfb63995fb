using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>Typed entries of a dump, for foreach.</summary>
/// <typeparam name="TKey">Key type.</typeparam>
/// <typeparam name="TValue">Value type.</typeparam>
public readonly struct TypedEntries<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    private readonly MapEntries _inner;

    internal TypedEntries(MapEntries inner) => _inner = inner;

    /// <summary>Starts the walk.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_inner.GetEnumerator());

    /// <summary>Enumerates typed entries over the untyped enumerator's buffers.</summary>
    public struct Enumerator : IDisposable
    {
        private readonly MapEnumerator _e;

        internal Enumerator(MapEnumerator e) => _e = e;

        /// <summary>The current entry.</summary>
        public readonly KeyValuePair<TKey, TValue> Current
        {
            get
            {
                MapEntry entry = _e.Current;
                return new(MemoryMarshal.Read<TKey>(entry.Key), MemoryMarshal.Read<TValue>(entry.Value));
            }
        }

        /// <summary>Advances.</summary>
        /// <returns>False at the end.</returns>
        public readonly bool MoveNext() => _e.MoveNext();

        /// <summary>Returns the pooled buffers.</summary>
        public readonly void Dispose() => _e.Dispose();
    }
}

/// <summary>One typed per-CPU entry.</summary>
/// <typeparam name="TKey">Key type.</typeparam>
/// <typeparam name="TValue">Per-CPU value type.</typeparam>
public readonly ref struct PerCpuEntry<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    internal PerCpuEntry(TKey key, PerCpuValues<TValue> values)
    {
        Key = key;
        Values = values;
    }

    /// <summary>The key.</summary>
    public TKey Key { get; }

    /// <summary>The per-CPU values.</summary>
    public PerCpuValues<TValue> Values { get; }
}

/// <summary>Typed per-CPU entries of a dump, for foreach.</summary>
/// <typeparam name="TKey">Key type.</typeparam>
/// <typeparam name="TValue">Per-CPU value type.</typeparam>
public readonly struct PerCpuEntries<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    private readonly MapEntries _inner;
    private readonly int _cpus;

    internal PerCpuEntries(MapEntries inner, int cpus)
    {
        _inner = inner;
        _cpus = cpus;
    }

    /// <summary>Starts the walk.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_inner.GetEnumerator(), _cpus);

    /// <summary>Enumerates typed per-CPU entries.</summary>
    public struct Enumerator : IDisposable
    {
        private readonly MapEnumerator _e;
        private readonly int _cpus;

        internal Enumerator(MapEnumerator e, int cpus)
        {
            _e = e;
            _cpus = cpus;
        }

        /// <summary>The current entry.</summary>
        public readonly PerCpuEntry<TKey, TValue> Current
        {
            get
            {
                MapEntry entry = _e.Current;
                return new(MemoryMarshal.Read<TKey>(entry.Key), new PerCpuValues<TValue>(entry.Value, _cpus));
            }
        }

        /// <summary>Advances.</summary>
        /// <returns>False at the end.</returns>
        public readonly bool MoveNext() => _e.MoveNext();

        /// <summary>Returns the pooled buffers.</summary>
        public readonly void Dispose() => _e.Dispose();
    }
}
