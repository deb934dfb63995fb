using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// Streams a map's entries a batch at a time through pooled buffers: nothing is allocated
/// per entry. Batch commands are used where the map type has them; ENOSPC grows the buffers;
/// a short count is not taken as the end, only ENOENT is, and its entries are still returned.
/// Where batch commands are missing, a get_next_key walk takes over (<see cref="GetNextKeyWalk"/>):
/// it emits no key twice, emits every key that stays in the map for the whole pass without being
/// replaced, and ends (docs/dump-drain.md).
/// The dump of an array created with <see cref="MapFlags.Mmapable"/> reads its memory instead, with no syscall per batch.
/// </summary>
public sealed class MapEnumerator : IDisposable
{
    private enum Mode
    {
        Batch,
        BatchDelete,
        Walk,
        WalkDelete,
        ArrayZero,
        Memory,
    }

    private const int MaxBatchSize = 1 << 22;
    private readonly BpfMap _map;
    private readonly DumpOptions _options;
    private readonly BatchCursor _cursor;
    private readonly int _keySize;
    private readonly int _valueSize;
    private Mode _mode;
    private byte[] _keys;
    private byte[] _values;
    private byte[]? _zeros;
    private int _capacity;
    private int _count;
    private int _index = -1;
    private bool _exhausted;
    private bool _firstCall = true;

    private GetNextKeyWalk? _walk;

    // memory dump state (mmapable arrays)
    private MappedRegion? _region;
    private int _nextIndex;

    internal MapEnumerator(BpfMap map, DumpOptions options, bool drain)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize <= 0)
        {
            BpfErrors.ThrowArgument(nameof(options), $"batch size {options.BatchSize} must be positive");
        }

        _map = map;
        _options = options;
        _keySize = map.KeySize;
        _valueSize = map.ValueBufferSize;
        _cursor = map.CreateCursor();
        _mode = ChooseMode(map, options, drain);
        if (_mode == Mode.Batch && options.Method == DumpMethod.Auto && options.Flags == LookupFlags.None && map.IsMmapable
            && map.Backend is IMapMemoryBackend && map.MapArrayOrErrno(writable: false, out _region) == 0)
        {
            // An mmapable array's elements are in memory this process can map: read them there. Only on the
            // backend itself, not through decorators, which expect to see the batch calls.
            _mode = Mode.Memory;
        }
        _capacity = Math.Min(options.BatchSize, Math.Max(map.MaxEntries, 1));
        _keys = ArrayPool<byte>.Shared.Rent(Math.Max(_capacity * _keySize, 1));
        _values = ArrayPool<byte>.Shared.Rent(Math.Max(_capacity * _valueSize, 1));
    }

    /// <summary>The current entry.</summary>
    /// <exception cref="InvalidOperationException">Before the first <see cref="MoveNext"/>, after it returned false, or after a <see cref="MoveNextBatch"/> (read the batch instead).</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public MapEntry Current
    {
        get
        {
            // After Dispose the count is 0, so one check covers both.
            if ((uint)_index >= (uint)_count)
            {
                ThrowNoCurrent();
            }

            // Every fetch keeps _count within the capacity the buffers were rented for, so the checked index is in
            // both buffers; skipping the spans' own bounds checks keeps a memory dump's per-entry cost down.
            ref byte key = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_keys), (nint)_index * _keySize);
            ref byte value = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_values), (nint)_index * _valueSize);
            return new(MemoryMarshal.CreateReadOnlySpan(ref key, _keySize), MemoryMarshal.CreateReadOnlySpan(ref value, _valueSize));
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowNoCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        throw new InvalidOperationException(_ended
            ? "Current has no entry: MoveNext() returned false, the dump is over"
            : _index < 0
            ? "Current has no entry before MoveNext() returns true (after MoveNextBatch(), read BatchKeys and BatchValues)"
            : "Current has no entry at this position");
    }

    private bool _disposed;
    private bool _ended;

    /// <summary>Number of batch (or walk) calls made so far.</summary>
    public int Calls { get; private set; }

    /// <summary>
    /// How many times a get_next_key walk was sent back to the first key because the key it stood on
    /// was deleted meanwhile (a key re-inserted at the head of its bucket, which only sends the walk
    /// over that bucket again, is not counted).
    /// </summary>
    public int Restarts => _walk?.Restarts ?? 0;

    /// <summary>The get_next_key walk, once one has started (for tests).</summary>
    internal GetNextKeyWalk? Walk => _walk;

    /// <summary>Whether the walk fell back to (or was asked for) get_next_key.</summary>
    public bool UsedGetNextKey => _mode is Mode.Walk or Mode.WalkDelete;

    /// <summary>Whether the dump reads an mmapable array's memory instead of making batch calls.</summary>
    public bool ReadsMemory => _mode == Mode.Memory;

    /// <summary>The current batch size (grows on ENOSPC).</summary>
    public int BatchSize => _capacity;

    /// <summary>Entries in the current batch (after <see cref="MoveNextBatch"/>).</summary>
    public int BatchCount => _count;

    /// <summary>Keys of the current batch, back to back.</summary>
    public ReadOnlySpan<byte> BatchKeys => _keys.AsSpan(0, _count * _keySize);

    /// <summary>Values of the current batch, back to back (<see cref="BpfMap.ValueBufferSize"/> each).</summary>
    public ReadOnlySpan<byte> BatchValues => _values.AsSpan(0, _count * _valueSize);

    /// <summary>Advances to the next entry.</summary>
    /// <returns>False at the end of the map.</returns>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public bool MoveNext()
    {
        // The common step stays small enough to inline into the caller's loop; after Dispose the count is 0.
        if (++_index < _count)
        {
            return true;
        }

        return MoveNextBatchThenFirst();
    }

    private bool MoveNextBatchThenFirst()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (MoveNextBatch())
        {
            if (_count > 0)
            {
                _index = 0;
                return true;
            }
        }

        _ended = true;
        return false;
    }

    /// <summary>
    /// Fetches the next batch as a whole (see <see cref="BatchKeys"/>, <see cref="BatchValues"/>).
    /// A batch may be empty without being the last.
    /// </summary>
    /// <returns>False at the end of the map.</returns>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public bool MoveNextBatch()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _index = -1;
        _count = 0;
        if (_exhausted)
        {
            return false;
        }

        switch (_mode)
        {
            case Mode.Batch:
            case Mode.BatchDelete:
            case Mode.ArrayZero:
                FetchBatch();
                break;
            case Mode.Memory:
                FetchMemory();
                break;
            default:
                FetchWalk();
                break;
        }

        Calls++;
        return _count > 0 || !_exhausted;
    }

    /// <summary>Returns the pooled buffers.</summary>
    public void Dispose()
    {
        _disposed = true;
        _count = 0;
        if (_keys.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_keys);
            ArrayPool<byte>.Shared.Return(_values);
            if (_zeros is not null)
            {
                ArrayPool<byte>.Shared.Return(_zeros);
            }

            _keys = [];
            _values = [];
            _zeros = null;
            _count = 0;
        }

        _walk?.Dispose();
        _walk = null;
        _region?.Dispose();
        _region = null;
    }

    private static Mode ChooseMode(BpfMap map, DumpOptions options, bool drain)
    {
        if (drain && map.Type.IsArray())
        {
            map.ThrowIfCannotDrain(options);
            return Mode.ArrayZero;
        }

        if (options.Method == DumpMethod.GetNextKey)
        {
            return drain ? Mode.WalkDelete : Mode.Walk;
        }

        return drain ? Mode.BatchDelete : Mode.Batch;
    }

    private void FetchBatch()
    {
        while (true)
        {
            int count = _capacity;
            int err = _map.LookupBatchOrErrno(_mode == Mode.BatchDelete, _cursor, _keys.AsSpan(0, _capacity * _keySize), _values.AsSpan(0, _capacity * _valueSize), ref count, _options.Flags);
            bool first = _firstCall;
            _firstCall = false;
            bool mayFallBack = first && _options.Method == DumpMethod.Auto && _mode != Mode.ArrayZero && _options.Flags == LookupFlags.None;
            switch (_map.ReadLookupBatchErrno(err, _mode == Mode.BatchDelete, (uint)count, _capacity, mayFallBack))
            {
                case BpfMap.LookupBatchOutcome.Entries:
                    _count = count;
                    break;
                case BpfMap.LookupBatchOutcome.End:
                    _count = count;
                    _exhausted = true;
                    break;
                case BpfMap.LookupBatchOutcome.TooSmall when _capacity < MaxBatchSize:
                    Grow();
                    continue;
                case BpfMap.LookupBatchOutcome.TooSmall:
                    throw BpfMap.LookupBatchTooSmall(_mode == Mode.BatchDelete, _capacity);
                default:
                    // This map type (or kernel) has no batch command: walk with get_next_key instead.
                    _mode = _mode == Mode.BatchDelete ? Mode.WalkDelete : Mode.Walk;
                    FetchWalk();
                    return;
            }

            if (_mode == Mode.ArrayZero && _count > 0)
            {
                ZeroBatch();
            }

            return;
        }
    }

    // The keys are the indices; the values sit round_up(value_size, 8) bytes apart in the mapping.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private unsafe void FetchMemory()
    {
        int max = _map.MaxEntries;
        int n = Math.Min(_capacity, max - _nextIndex);
        Span<uint> keys = MemoryMarshal.Cast<byte, uint>(_keys.AsSpan(0, n * sizeof(uint)));
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = (uint)(_nextIndex + i);
        }

        int stride = PossibleCpus.Stride(_valueSize);
        byte* src = _region!.Address + (long)_nextIndex * stride;
        if (stride == _valueSize)
        {
            new ReadOnlySpan<byte>(src, n * _valueSize).CopyTo(_values);
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                new ReadOnlySpan<byte>(src + (long)i * stride, _valueSize).CopyTo(_values.AsSpan(i * _valueSize));
            }
        }

        _count = n;
        _nextIndex += n;
        _exhausted = _nextIndex >= max;
    }

    private void ZeroBatch()
    {
        if (_map.Type.IsMapInMap())
        {
            // A slot of an array of maps is emptied by deleting it: writing 0 would name descriptor 0
            // (stdin), which is not a map (EINVAL).
            for (int i = 0; i < _count; i++)
            {
                _map.Delete(_keys.AsSpan(i * _keySize, _keySize));
            }

            return;
        }

        if (_zeros is null || _zeros.Length < _count * _valueSize)
        {
            if (_zeros is not null)
            {
                ArrayPool<byte>.Shared.Return(_zeros);
            }

            _zeros = ArrayPool<byte>.Shared.Rent(_capacity * _valueSize);
            Array.Clear(_zeros);
        }

        _map.UpdateBatch(_keys.AsSpan(0, _count * _keySize), _zeros.AsSpan(0, _count * _valueSize), _count, UpdateFlags.Any);
    }

    private void Grow()
    {
        _capacity = Math.Min(_capacity * 2, MaxBatchSize);
        ArrayPool<byte>.Shared.Return(_keys);
        ArrayPool<byte>.Shared.Return(_values);
        _keys = ArrayPool<byte>.Shared.Rent(_capacity * _keySize);
        _values = ArrayPool<byte>.Shared.Rent(_capacity * _valueSize);
    }

    private void FetchWalk()
    {
        _walk ??= new GetNextKeyWalk(_map, _options, drain: _mode == Mode.WalkDelete);
        _count = _walk.Fill(_keys.AsSpan(0, _capacity * _keySize), _values.AsSpan(0, _capacity * _valueSize), _capacity, out bool exhausted);
        _exhausted = exhausted;
    }
}
