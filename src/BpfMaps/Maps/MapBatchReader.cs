using System.Buffers;
using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// The batch half of a dump or drain: BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH, or lookup then
/// zero for an array drain) through <see cref="BpfMap"/>, or, for an mmapable array read on its own
/// backend, a copy out of the array's memory. It fills the enumerator's pooled buffers and grows them
/// on ENOSPC; it tells the enumerator when the map type has no batch command, so that the get_next_key
/// walk (<see cref="GetNextKeyWalk"/>) takes over.
/// </summary>
internal sealed class MapBatchReader : IDisposable
{
    private const int MaxBatchSize = 1 << 22;
    private readonly BpfMap _map;
    private readonly DumpOptions _options;
    private readonly BatchCursor _cursor;
    private readonly bool _delete;
    private readonly bool _zero;
    private readonly int _keySize;
    private readonly int _valueSize;
    private byte[]? _zeros;
    private bool _firstCall = true;

    // memory dump state (mmapable arrays)
    private MappedRegion? _region;
    private int _nextIndex;

    /// <param name="map">The map.</param>
    /// <param name="options">The dump's options.</param>
    /// <param name="drain">Lookup-and-delete (or, with <paramref name="zero"/>, lookup then zero).</param>
    /// <param name="zero">An array drain: read a batch, then write zeros over it.</param>
    public MapBatchReader(BpfMap map, DumpOptions options, bool drain, bool zero)
    {
        _map = map;
        _options = options;
        _delete = drain && !zero;
        _zero = zero;
        _keySize = map.KeySize;
        _valueSize = map.ValueBufferSize;
        _cursor = map.CreateCursor();
        if (!drain && options.Method == DumpMethod.Auto && options.Flags == LookupFlags.None && map.IsMmapable
            && map.Backend is IMapMemoryBackend && map.MapArrayOrErrno(writable: false, out _region) == 0)
        {
            // An mmapable array's elements are in memory this process can map: read them there. Only on the
            // backend itself, not through decorators, which expect to see the batch calls.
            ReadsMemory = true;
        }
    }

    /// <summary>Whether the dump reads an mmapable array's memory instead of making batch calls.</summary>
    public bool ReadsMemory { get; }

    /// <summary>
    /// Fills the buffers with the next batch; on ENOSPC returns them to the pool and rents twice the capacity.
    /// </summary>
    /// <returns>False when the map type (or kernel) has no batch command and the first call may fall back to the walk; nothing was read.</returns>
    public bool Fill(ref byte[] keys, ref byte[] values, ref int capacity, out int count, out bool exhausted)
    {
        if (ReadsMemory)
        {
            count = FillFromMemory(keys, values, capacity, out exhausted);
            return true;
        }

        while (true)
        {
            int n = capacity;
            int err = _map.LookupBatchOrErrno(_delete, _cursor, keys.AsSpan(0, capacity * _keySize), values.AsSpan(0, capacity * _valueSize), ref n, _options.Flags);
            bool first = _firstCall;
            _firstCall = false;
            bool mayFallBack = first && _options.Method == DumpMethod.Auto && !_zero && _options.Flags == LookupFlags.None;
            switch (_map.ReadLookupBatchErrno(err, _delete, (uint)n, capacity, mayFallBack))
            {
                case BpfMap.LookupBatchOutcome.Entries:
                    exhausted = false;
                    break;
                case BpfMap.LookupBatchOutcome.End:
                    exhausted = true;
                    break;
                case BpfMap.LookupBatchOutcome.TooSmall when capacity < MaxBatchSize:
                    Grow(ref keys, ref values, ref capacity);
                    continue;
                case BpfMap.LookupBatchOutcome.TooSmall:
                    throw BpfMap.LookupBatchTooSmall(_delete, capacity);
                default:
                    count = 0;
                    exhausted = false;
                    return false;
            }

            count = n;
            if (_zero && count > 0)
            {
                ZeroBatch(keys, count, capacity);
            }

            return true;
        }
    }

    public void Dispose()
    {
        if (_zeros is not null)
        {
            ArrayPool<byte>.Shared.Return(_zeros);
            _zeros = null;
        }

        _region?.Dispose();
        _region = null;
    }

    // The keys are the indices; the values sit round_up(value_size, 8) bytes apart in the mapping.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private unsafe int FillFromMemory(byte[] keysBuffer, byte[] values, int capacity, out bool exhausted)
    {
        int max = _map.MaxEntries;
        int n = Math.Min(capacity, max - _nextIndex);
        Span<uint> keys = MemoryMarshal.Cast<byte, uint>(keysBuffer.AsSpan(0, n * sizeof(uint)));
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = (uint)(_nextIndex + i);
        }

        int stride = PossibleCpus.Stride(_valueSize);
        byte* src = _region!.Address + (long)_nextIndex * stride;
        if (stride == _valueSize)
        {
            new ReadOnlySpan<byte>(src, n * _valueSize).CopyTo(values);
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                new ReadOnlySpan<byte>(src + (long)i * stride, _valueSize).CopyTo(values.AsSpan(i * _valueSize));
            }
        }

        _nextIndex += n;
        exhausted = _nextIndex >= max;
        return n;
    }

    private void ZeroBatch(byte[] keys, int count, int capacity)
    {
        if (_map.Type.IsMapInMap())
        {
            // A slot of an array of maps is emptied by deleting it: writing 0 would name descriptor 0
            // (stdin), which is not a map (EINVAL).
            for (int i = 0; i < count; i++)
            {
                _map.Delete(keys.AsSpan(i * _keySize, _keySize));
            }

            return;
        }

        if (_zeros is null || _zeros.Length < count * _valueSize)
        {
            if (_zeros is not null)
            {
                ArrayPool<byte>.Shared.Return(_zeros);
            }

            _zeros = ArrayPool<byte>.Shared.Rent(capacity * _valueSize);
            Array.Clear(_zeros);
        }

        _map.UpdateBatch(keys.AsSpan(0, count * _keySize), _zeros.AsSpan(0, count * _valueSize), count, UpdateFlags.Any);
    }

    private void Grow(ref byte[] keys, ref byte[] values, ref int capacity)
    {
        capacity = Math.Min(capacity * 2, MaxBatchSize);
        ArrayPool<byte>.Shared.Return(keys);
        ArrayPool<byte>.Shared.Return(values);
        keys = ArrayPool<byte>.Shared.Rent(capacity * _keySize);
        values = ArrayPool<byte>.Shared.Rent(capacity * _valueSize);
    }
}
