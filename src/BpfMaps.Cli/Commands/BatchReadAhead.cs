using System.Buffers;
using System.Runtime.ExceptionServices;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// A dump whose next batches are read on a thread of their own while the caller renders the current one,
/// so that the kernel's BPF_MAP_LOOKUP_BATCH and the formatting overlap on two CPUs. Batches come out in
/// the order the enumerator read them, and a failure comes out after the batches read before it, as
/// without read-ahead. Only for dumps: a drain would delete entries that might never be written.
/// </summary>
internal sealed class BatchReadAhead : IDisposable
{
    private const int Slots = 3;

    private readonly Slot[] _slots = [new(), new(), new()];
    private readonly SemaphoreSlim _free = new(Slots, Slots);
    private readonly SemaphoreSlim _full = new(0, Slots);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _reader;
    private readonly int _keySize;
    private readonly int _valueSize;
    private int _next;
    private Slot? _current;
    private bool _done;

    /// <summary>Starts reading <paramref name="map"/> on a new thread.</summary>
    /// <param name="map">The map.</param>
    public BatchReadAhead(BpfMap map)
    {
        _keySize = map.KeySize;
        _valueSize = map.ValueBufferSize;
        _reader = new Thread(() => Read(map)) { IsBackground = true, Name = "bpfmap read-ahead" };
        _reader.Start();
    }

    /// <summary>Whether reading ahead can pay for its thread: a map of several batches, on more than one CPU.</summary>
    /// <param name="map">The map.</param>
    /// <returns>True when a dump should read ahead.</returns>
    public static bool Worthwhile(BpfMap map) => Environment.ProcessorCount > 1 && map.MaxEntries >= 8 * DumpOptions.DefaultBatchSize;

    /// <summary>Entries in the current batch.</summary>
    public int BatchCount => _current?.Count ?? 0;

    /// <summary>Keys of the current batch, back to back.</summary>
    public ReadOnlySpan<byte> BatchKeys => _current is { } s ? s.Keys.AsSpan(0, s.Count * _keySize) : default;

    /// <summary>Values of the current batch, back to back.</summary>
    public ReadOnlySpan<byte> BatchValues => _current is { } s ? s.Values.AsSpan(0, s.Count * _valueSize) : default;

    /// <summary>Moves to the next batch; the previous one's buffers go back to the reader.</summary>
    /// <returns>False at the end of the map.</returns>
    /// <exception cref="Exception">Whatever the dump threw, after the batches before it.</exception>
    public bool MoveNextBatch()
    {
        if (_current is not null)
        {
            _current = null;
            _free.Release();
        }

        if (_done)
        {
            return false;
        }

        Acquire(_full, CancellationToken.None);
        Slot s = _slots[_next];
        _next = (_next + 1) % Slots;
        if (s.Failure is { } failure)
        {
            _done = true;
            failure.Throw();
        }

        if (s.End)
        {
            _done = true;
            return false;
        }

        _current = s;
        return true;
    }

    /// <summary>
    /// Takes a slot, spinning (and yielding) for a while before sleeping. A thread that sleeps on every batch
    /// is woken by the other on every batch, and the scheduler then keeps the pair on one CPU (it takes
    /// them for a producer and consumer that share data), where they take turns instead of overlapping.
    /// </summary>
    private static void Acquire(SemaphoreSlim semaphore, CancellationToken cancel)
    {
        var spin = default(SpinWait);
        for (int i = 0; i < 2000; i++)
        {
            if (semaphore.Wait(0, CancellationToken.None))
            {
                return;
            }

            cancel.ThrowIfCancellationRequested();
            spin.SpinOnce(sleep1Threshold: -1);
        }

        semaphore.Wait(cancel);
    }

    /// <summary>Stops the reader and waits for it, so the map's enumerator is closed when this returns.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _reader.Join();
        foreach (Slot s in _slots)
        {
            s.Return();
        }

        _stop.Dispose();
        _free.Dispose();
        _full.Dispose();
    }

    private void Read(BpfMap map)
    {
        // The slot the next batch goes in; a failure goes there too, so it comes out after the batches before it.
        int i = 0;
        try
        {
            using MapEnumerator e = map.Dump().GetEnumerator();
            while (true)
            {
                Acquire(_free, _stop.Token);
                Slot s = _slots[i];
                if (!e.MoveNextBatch())
                {
                    s.End = true;
                    _full.Release();
                    return;
                }

                s.Fill(e.BatchKeys, e.BatchValues, e.BatchCount);
                _full.Release();
                i = (i + 1) % Slots;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _slots[i].Failure = ExceptionDispatchInfo.Capture(ex);
            _full.Release();
        }
    }

    /// <summary>One batch's keys and values, in pooled arrays that grow with the batch.</summary>
    private sealed class Slot
    {
        public byte[] Keys { get; private set; } = [];

        public byte[] Values { get; private set; } = [];

        public int Count { get; private set; }

        public bool End { get; set; }

        public ExceptionDispatchInfo? Failure { get; set; }

        public void Fill(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, int count)
        {
            Keys = Fit(Keys, keys.Length);
            Values = Fit(Values, values.Length);
            keys.CopyTo(Keys);
            values.CopyTo(Values);
            Count = count;
        }

        public void Return()
        {
            if (Keys.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(Keys);
            }

            if (Values.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(Values);
            }

            Keys = [];
            Values = [];
        }

        private static byte[] Fit(byte[] array, int length)
        {
            if (array.Length >= length)
            {
                return array;
            }

            if (array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(array);
            }

            return ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        }
    }
}
