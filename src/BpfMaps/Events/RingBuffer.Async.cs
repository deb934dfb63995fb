using System.Buffers;
using System.Runtime.CompilerServices;

namespace BpfMaps.Events;

// The async reader: records copied into pooled memory, waits on a thread-pool thread. Kept out of the unsafe
// part of the class, where await is not allowed.
public sealed partial class RingBuffer
{
    /// <summary>
    /// Waits for the next record and returns a copy of it in pooled memory (dispose it). The wait blocks a
    /// thread-pool thread in epoll_wait; cancelling wakes it.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The record.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The ring was disposed, before or during the wait.</exception>
    /// <exception cref="InvalidOperationException">Another thread is consuming this ring.</exception>
    public async ValueTask<IMemoryOwner<byte>> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (TryRead(out IMemoryOwner<byte>? record))
            {
                return record;
            }

            await WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every record, as it arrives, each copied into pooled memory (dispose each). Ends when the ring is disposed;
    /// a cancelled token ends it with <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records.</returns>
    public async IAsyncEnumerable<IMemoryOwner<byte>> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!_disposed)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IMemoryOwner<byte>? record;
            try
            {
                if (!TryRead(out record))
                {
                    await WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
            }
            catch (ObjectDisposedException) when (_disposed)
            {
                yield break;
            }

            yield return record;
        }
    }

    private Task WaitAsync(CancellationToken cancellationToken)
    {
        return Core(this, cancellationToken);

        static async Task Core(RingBuffer ring, CancellationToken ct)
        {
            using CancellationTokenRegistration reg = ct.UnsafeRegister(static s => ((RingBuffer)s!).Wake(), ring);
            await Task.Factory.StartNew(static s => ((RingBuffer)s!).Wait(Timeout.Infinite), ring, CancellationToken.None,
                TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }
}
