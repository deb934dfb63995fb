using System.Buffers;

namespace BpfMaps;

/// <summary>
/// One dump or drain pass over a map with BPF_MAP_GET_NEXT_KEY, for map types and kernels without
/// the batch commands.
/// <para>
/// A hash map answers get_next_key bucket by bucket, each bucket newest element first, and answers
/// with the first key of the map when the key it is given is gone. Under churn the walk is thrown
/// back: to the start when the key it stands on was deleted (a restart), or over its own bucket when
/// that key was replaced (deleted and inserted again, or on a hash map updated), which puts it at the
/// head of the bucket (a reorder). The walk remembers every key it met (<see cref="SeenKeys"/>), so it
/// never emits one twice, and marks each with when it met it. A key met again is ahead of the walk
/// when it was met after the key the walk stands on (the walk is going forward again after a resume)
/// or before the last start over. Otherwise the walk was thrown back: by a reorder if the key it
/// stands on is still there and the answer was met among the last <see cref="TrailLength"/> new
/// keys, else by a restart.
/// </para>
/// <para>
/// Thrown back either way, the walk drops its position and goes on from the most recent position in
/// its trail (the last <see cref="TrailLength"/> positions) whose key still exists, so it costs a few
/// steps, not a walk from the start. A reorder that leads back to the same answer from the same key
/// is followed instead (the bucket changed since the answer was met, so its mark is stale), so a
/// position cannot send the walk round in a circle. Only when no trail key is left, or under
/// <see cref="RestartPolicy.StartOverSkippingSeen"/>, does a restart start over from the first key,
/// skipping every key met. A drain takes each key after asking for its successor, so its own
/// deletions never send it back; the keys it took cannot be resumed from, so it starts over.
/// </para>
/// <para>
/// The walker is the get_next_key half of <see cref="MapEnumerator"/> (the batch half is
/// <see cref="MapBatchReader"/>). It calls the map through <see cref="BpfMap"/>'s errno-returning element
/// calls, which check every span as the public methods do, never around it to the backend.
/// </para>
/// </summary>
internal sealed class GetNextKeyWalk : IDisposable
{
    /// <summary>Positions kept to resume from, and how many new keys back a reorder can reach.</summary>
    internal const int TrailLength = 64;

    private readonly BpfMap _map;
    private readonly DumpOptions _options;
    private readonly bool _drain;
    private readonly int _keySize;
    private readonly int _valueSize;
    private readonly long _stepLimit;
    private readonly SeenKeys _seen;
    private readonly byte[] _pos;
    private readonly byte[] _next;
    private byte[] _scratch;
    private readonly int[] _trail = new int[TrailLength];
    private int _trailTop = -1;
    private int _trailCount;
    private bool _hasPos;
    private int _posOrdinal = -1;
    private int _posMark;
    private bool _pending;
    private int _clock;
    private int _epoch;
    private long _steps;
    private int _backFrom = -1;
    private int _backTo = -1;
    private MapIterationRestartedException? _stopped;

    public GetNextKeyWalk(BpfMap map, DumpOptions options, bool drain)
    {
        _map = map;
        _options = options;
        _drain = drain;
        _keySize = map.KeySize;
        _valueSize = map.ValueBufferSize;
        _stepLimit = ((long)map.MaxEntries + 2) * ((long)Math.Max(options.MaxRestarts, 0) + 2);
        _seen = new SeenKeys(_keySize);
        _pos = new byte[_keySize];
        _next = new byte[_keySize];
        _scratch = ArrayPool<byte>.Shared.Rent(Math.Max(_valueSize, 1));
    }

    /// <summary>
    /// Times get_next_key sent the walk back to the first key because the key it stood on was gone
    /// (noticed when the answer is a key met before).
    /// </summary>
    public int Restarts { get; private set; }

    /// <summary>Keys emitted so far in this pass.</summary>
    public long Emitted { get; private set; }

    /// <summary>get_next_key calls so far (for tests: the walk's cost).</summary>
    internal long Steps => _steps;

    /// <summary>
    /// Times get_next_key answered with a key met among the last <see cref="TrailLength"/> new keys, behind
    /// the walk, while the key it stood on was still there (once per position and answer).
    /// </summary>
    internal int Reorders { get; private set; }

    /// <summary>Times the walk went on from a trail key, after a restart or a reorder.</summary>
    internal int Resumes { get; private set; }

    /// <summary>Restarts after which the walk started over from the first key.</summary>
    internal int StartsOver { get; private set; }

    /// <summary>
    /// Fills up to <paramref name="capacity"/> entries; sets <paramref name="exhausted"/> at the end of the map.
    /// When the walk stops (<see cref="MapIterationRestartedException"/>), the entries already read are
    /// returned first and the next call throws, so that the exception's count is what the caller got.
    /// </summary>
    public int Fill(Span<byte> keys, Span<byte> values, int capacity, out bool exhausted)
    {
        if (_stopped is not null)
        {
            throw _stopped;
        }

        exhausted = false;
        int n = 0;
        while (n < capacity)
        {
            if (++_steps > _stepLimit)
            {
                _stopped = GaveUp($"after {_steps - 1} steps and {Restarts} restarts");
                break;
            }

            int err = _map.GetNextKeyOrErrno(_hasPos ? _pos : ReadOnlySpan<byte>.Empty, _next);
            if (err != 0 && err != Errno.ENOENT)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_MAP_GET_NEXT_KEY, _map.Type);
            }

            int posExists = -1; // unknown
            if (_pending)
            {
                // A drain takes a key only once its successor is known: taking it first would send
                // get_next_key back to the start every time.
                _pending = false;
                bool took = Take(_pos, keys.Slice(n * _keySize, _keySize), values.Slice(n * _valueSize, _valueSize));
                posExists = took ? 1 : 0;
                if (took)
                {
                    n++;
                    Emitted++;
                }
            }

            if (err == Errno.ENOENT)
            {
                exhausted = true;
                break;
            }

            int ordinal = _seen.Find(_next);
            if (ordinal < 0)
            {
                if (_drain)
                {
                    MoveTo(_seen.Add(_next, ++_clock));
                    _pending = true;
                    continue;
                }

                Span<byte> value = values.Slice(n * _valueSize, _valueSize);
                err = _map.LookupOrErrno(_next, value, _options.Flags);
                if (err == Errno.ENOENT)
                {
                    // Deleted between the two calls: stand on it anyway (it is not in the trail), and the
                    // next step shows where get_next_key goes from here.
                    _next.CopyTo(_pos);
                    _hasPos = true;
                    _posOrdinal = -1;
                    continue;
                }

                if (err != 0)
                {
                    BpfErrors.Throw(err, BpfCommand.BPF_MAP_LOOKUP_ELEM, _map.Type);
                }

                MoveTo(_seen.Add(_next, ++_clock));
                _next.CopyTo(keys.Slice(n * _keySize, _keySize));
                n++;
                Emitted++;
                continue;
            }

            int mark = _seen.MarkOf(ordinal);
            if (mark < _epoch)
            {
                // Met before the last start over and not since: the walk is catching up.
                _seen.SetMark(ordinal, ++_clock);
                MoveTo(ordinal);
            }
            else if (mark > _posMark)
            {
                // Met after the key the walk stands on: it is walking forward again after a resume.
                MoveTo(ordinal);
            }
            else
            {
                // Thrown back. If the key the walk stands on is still there, get_next_key did not start
                // over: that key was replaced, at the head of its bucket, and the answer is the old head,
                // met a few keys ago. The key before it in the trail still has its old successor, so go
                // on from there (going over the bucket instead can be kept from ever reaching its end by
                // a writer that replaces whatever key the walk stands on). An answer met long ago means
                // a restart even if the key is there now: it can be gone for a moment and back before
                // the walk checks. If going on from the trail leads back to the same answer from the
                // same key, the answer is that key's successor and its mark is stale (the bucket changed
                // since it was met): follow it, or the walk would go round in a circle.
                bool present = PositionExists(posExists);
                bool again = present && ordinal == _backTo && _posOrdinal == _backFrom;
                _backFrom = _posOrdinal;
                _backTo = ordinal;
                if (again)
                {
                    MoveTo(ordinal);
                }
                else if (present && mark > _clock - TrailLength)
                {
                    Reorders++;
                    if (_drain || !TryResume())
                    {
                        MoveTo(ordinal);
                    }
                }
                else
                {
                    _stopped = OnRestart(ordinal);
                    if (_stopped is not null)
                    {
                        break;
                    }
                }
            }
        }

        if (_stopped is not null && n == 0)
        {
            throw _stopped;
        }

        return n;
    }

    public void Dispose()
    {
        _seen.Dispose();
        if (_scratch.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = [];
        }
    }

    private void MoveTo(int ordinal)
    {
        _seen.KeyAt(ordinal).CopyTo(_pos);
        _hasPos = true;
        _posOrdinal = ordinal;
        _posMark = _seen.MarkOf(ordinal);
        _trailTop = (_trailTop + 1) % TrailLength;
        _trail[_trailTop] = ordinal;
        _trailCount = Math.Min(_trailCount + 1, TrailLength);
    }

    private void PopTrail()
    {
        _trailTop = (_trailTop + TrailLength - 1) % TrailLength;
        _trailCount--;
    }

    private bool PositionExists(int known)
        => known >= 0 ? known == 1 : _hasPos && _map.LookupOrErrno(_pos, _scratch.AsSpan(0, _valueSize), LookupFlags.None) == 0;

    /// <summary>Handles a restart; returns the exception to stop with, or null to go on.</summary>
    private MapIterationRestartedException? OnRestart(int ordinal)
    {
        Restarts++;
        if (_options.OnRestart == RestartPolicy.Fail)
        {
            return new MapIterationRestartedException(
                $"get_next_key walk of map '{_map.Name}' restarted from the first key after {Emitted} keys emitted: the key it stood on was deleted meanwhile (RestartPolicy.Fail)",
                Emitted,
                Restarts);
        }

        if (Restarts > _options.MaxRestarts)
        {
            return GaveUp($"after {Restarts} restarts (limit {_options.MaxRestarts})");
        }

        if (_options.OnRestart == RestartPolicy.ResumeFromEarlierKey && !_drain && TryResume())
        {
            return null;
        }

        // Start over from the key get_next_key gave, skipping every key met so far.
        StartsOver++;
        _epoch = _clock + 1;
        _seen.SetMark(ordinal, ++_clock);
        MoveTo(ordinal);
        return null;
    }

    private bool TryResume()
    {
        if (_trailCount > 0 && _trail[_trailTop] == _posOrdinal)
        {
            // This position led back: going on from it again could lead back again.
            PopTrail();
        }

        Span<byte> scratch = _scratch.AsSpan(0, _valueSize);
        while (_trailCount > 0)
        {
            int ordinal = _trail[_trailTop];
            if (_map.LookupOrErrno(_seen.KeyAt(ordinal), scratch, LookupFlags.None) == 0)
            {
                Resumes++;
                _seen.KeyAt(ordinal).CopyTo(_pos);
                _hasPos = true;
                _posOrdinal = ordinal;
                _posMark = _seen.MarkOf(ordinal);
                return true;
            }

            PopTrail();
        }

        return false;
    }

    private bool Take(ReadOnlySpan<byte> key, Span<byte> keyOut, Span<byte> value)
    {
        int err = _map.LookupAndDeleteOrErrno(key, value, _options.Flags);
        if (err is Errno.ENOTSUPP or Errno.EOPNOTSUPP or Errno.EINVAL)
        {
            // Before 5.14 hash maps had no LOOKUP_AND_DELETE_ELEM: read, then delete (not atomic).
            err = _map.LookupOrErrno(key, value, _options.Flags);
            if (err == 0)
            {
                int del = _map.DeleteOrErrno(key);
                if (del != 0 && del != Errno.ENOENT)
                {
                    BpfErrors.Throw(del, BpfCommand.BPF_MAP_DELETE_ELEM, _map.Type);
                }
            }
        }

        if (err == Errno.ENOENT)
        {
            return false;
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM, _map.Type);
        }

        key.CopyTo(keyOut);
        return true;
    }

    private MapIterationRestartedException GaveUp(string when)
        => new(
            $"get_next_key walk of map '{_map.Name}' gave up {when}: {Emitted} keys emitted, the map changed faster than it could be walked; " +
            (_drain
                ? "use the batch commands (kernel 5.6+, where the map type has them) or a swap drain (SwapDrainMap)"
                : "use the batch commands (kernel 5.6+, where the map type has them)"),
            Emitted,
            Restarts);
}
