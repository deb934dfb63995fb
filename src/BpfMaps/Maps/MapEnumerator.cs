using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps;

/// <summary>
/// Streams a map's entries a batch at a time through pooled buffers: nothing is allocated
/// per entry. Batch commands are used where the map type has them; ENOSPC grows the buffers;
/// a short count is not taken as the end, only ENOENT is, and its entries are still returned.
/// Where batch commands are missing, a get_next_key walk takes over (<see cref="GetNextKeyWalk"/>):
/// it emits no key twice, emits every key that stays in the map for the whole pass without being
/// replaced, and ends (docs/dump-drain.md).
/// The dump of an array created with <see cref="MapFlags.Mmapable"/> reads its memory instead, with no syscall per batch.
/// The batch calls and the memory read are <see cref="MapBatchReader"/>'s, the walk is <see cref="GetNextKeyWalk"/>'s;
/// this type owns the pooled buffers both fill and the entry-by-entry view over them.
/// </summary>
public sealed class MapEnumerator : IDisposable
{
    private readonly BpfMap _map;
    private readonly DumpOptions _options;
    private readonly bool _drain;
    private readonly int _keySize;
    private readonly int _valueSize;
    private MapBatchReader? _batch;
    private GetNextKeyWalk? _walk;
    private bool _walking;
    private byte[] _keys;
    private byte[] _values;
    private int _capacity;
    private int _count;
    private int _index = -1;
    private bool _exhausted;

    internal MapEnumerator(BpfMap map, DumpOptions options, bool drain)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize <= 0)
        {
            BpfErrors.ThrowArgument(nameof(options), $"batch size {options.BatchSize} must be positive");
        }

        _map = map;
        _options = options;
        _drain = drain;
        _keySize = map.KeySize;
        _valueSize = map.ValueBufferSize;
        bool zero = false;
        if (drain && map.Type.IsArray())
        {
            map.ThrowIfCannotDrain(options);
            zero = true;
        }

        if (zero || options.Method != DumpMethod.GetNextKey)
        {
            _batch = new MapBatchReader(map, options, drain, zero);
        }
        else
        {
            _walking = true;
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
    public bool UsedGetNextKey => _walking;

    /// <summary>Whether the dump reads an mmapable array's memory instead of making batch calls.</summary>
    public bool ReadsMemory => _batch?.ReadsMemory ?? false;

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

        if (_walking || !FetchBatch())
        {
            FetchWalk();
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
            _keys = [];
            _values = [];
            _count = 0;
        }

        _walk?.Dispose();
        _walk = null;
        _batch?.Dispose();
        _batch = null;
    }

    /// <summary>Reads the next batch; false when the map type has no batch command and the walk takes over.</summary>
    private bool FetchBatch()
    {
        if (!_batch!.Fill(ref _keys, ref _values, ref _capacity, out _count, out _exhausted))
        {
            // This map type (or kernel) has no batch command: walk with get_next_key instead.
            _batch.Dispose();
            _batch = null;
            _walking = true;
            return false;
        }

        return true;
    }

    private void FetchWalk()
    {
        _walk ??= new GetNextKeyWalk(_map, _options, _drain);
        _count = _walk.Fill(_keys.AsSpan(0, _capacity * _keySize), _values.AsSpan(0, _capacity * _valueSize), _capacity, out bool exhausted);
        _exhausted = exhausted;
    }
}
