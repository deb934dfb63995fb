namespace BpfMaps;

/// <summary>
/// Drains u64 counters straight out of a live map with one of the usual methods. None of them is exact
/// while programs write the map; they exist to be compared with <see cref="SwapDrainMap"/>.
/// </summary>
public sealed class LiveCounterDrainer : ICounterMapDrainer
{
    private readonly BpfMap _map;
    private readonly LiveDrainMethod _method;
    private readonly BatchCursor _cursor;
    private byte[] _keys;
    private byte[] _values;
    private int _capacity;

    /// <summary>Creates a drainer over <paramref name="map"/>; the map stays owned by the caller.</summary>
    /// <param name="map">A hash-like counter map with u64 values.</param>
    /// <param name="method">The drain method.</param>
    /// <exception cref="ArgumentException">Values are not 8 bytes, or the map is an array (its elements cannot be deleted).</exception>
    public LiveCounterDrainer(BpfMap map, LiveDrainMethod method)
    {
        ArgumentNullException.ThrowIfNull(map);
        CounterValues.CheckShape(map, nameof(map));
        if (map.Type.IsArray())
        {
            throw new ArgumentException($"{map.Type} elements cannot be deleted; drain arrays through a SwapDrainMap", nameof(map));
        }

        _map = map;
        _method = method;
        _cursor = map.CreateCursor();
        _capacity = Math.Clamp(map.MaxEntries, 1, 1024);
        _keys = new byte[_capacity * map.KeySize];
        _values = new byte[_capacity * map.ValueBufferSize];
    }

    /// <inheritdoc />
    public string MethodName => _method switch
    {
        LiveDrainMethod.GetNextKeyLookupDelete => "get_next_key+lookup+delete",
        LiveDrainMethod.LookupAndDeleteBatch => "lookup_and_delete_batch (live)",
        _ => "BpfMap.Drain (live)",
    };

    /// <summary>Drains once with the chosen method (see <see cref="LiveDrainMethod"/> for the commands used).</summary>
    /// <param name="visitor">Called per counter; null to only sum.</param>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="BpfException">Kernel errors.</exception>
    public CounterDrainPass DrainCounters(CounterVisitor? visitor = null) => _method switch
    {
        LiveDrainMethod.GetNextKeyLookupDelete => DrainByKeys(visitor),
        LiveDrainMethod.LookupAndDeleteBatch => DrainByBatch(visitor),
        _ => CounterValues.Consume(_map.Drain(), _map.Cpus, visitor),
    };

    /// <summary>Sums the map without deleting anything.</summary>
    /// <returns>Entries and their total.</returns>
    /// <exception cref="BpfException">Kernel errors.</exception>
    public CounterDrainPass PeekTotals() => CounterValues.Consume(_map.Dump(), _map.Cpus, null);

    private CounterDrainPass DrainByKeys(CounterVisitor? visitor)
    {
        int keySize = _map.KeySize;
        Span<byte> current = stackalloc byte[keySize];
        Span<byte> next = stackalloc byte[keySize];
        Span<byte> value = _values.AsSpan(0, _map.ValueBufferSize);
        int n = 0;
        ulong total = 0;
        bool has = _map.TryGetNextKey(ReadOnlySpan<byte>.Empty, current);
        while (has)
        {
            // Step past the key before deleting it, so the walk does not start over.
            bool hasNext = _map.TryGetNextKey(current, next);
            if (_map.TryLookup(current, value))
            {
                _map.Delete(current);
                ulong v = CounterValues.Sum(value, _map.Cpus);
                visitor?.Invoke(current, v);
                n++;
                total += v;
            }

            next.CopyTo(current);
            has = hasNext;
        }

        return new CounterDrainPass(n, total);
    }

    private CounterDrainPass DrainByBatch(CounterVisitor? visitor)
    {
        _cursor.Reset();
        int n = 0;
        ulong total = 0;
        int keySize = _map.KeySize, valueSize = _map.ValueBufferSize;
        while (true)
        {
            int count = _capacity;
            int err = _map.LookupBatchOrErrno(true, _cursor, _keys, _values, ref count);
            if (err is not (0 or Errno.ENOENT or Errno.ENOSPC))
            {
                BpfErrors.ThrowBatch(err, BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH, err == Errno.EFAULT ? null : count, _map.Type);
            }

            if (err == Errno.ENOSPC)
            {
                _capacity *= 2;
                _keys = new byte[_capacity * keySize];
                _values = new byte[_capacity * valueSize];
                continue;
            }

            for (int i = 0; i < count; i++)
            {
                ulong v = CounterValues.Sum(_values.AsSpan(i * valueSize, valueSize), _map.Cpus);
                visitor?.Invoke(_keys.AsSpan(i * keySize, keySize), v);
                total += v;
            }

            n += count;
            if (err == Errno.ENOENT)
            {
                return new CounterDrainPass(n, total);
            }
        }
    }
}
