using System.Runtime.CompilerServices;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// One int that is both a lock and a sequence counter, as every bucket and array slot of the engine has.
/// Writers move it from even to odd with a CAS and back to even when done; readers take no lock, copy,
/// and try again if the counter was odd or moved meanwhile.
/// </summary>
internal static class Seqlock
{
    /// <summary>Takes the lock, spinning while another writer holds it; returns the (odd) value to hand to <see cref="Unlock"/>.</summary>
    public static int Lock(ref int seq)
    {
        int s = Volatile.Read(ref seq);
        if ((s & 1) == 0 && Interlocked.CompareExchange(ref seq, s + 1, s) == s)
        {
            return s + 1;
        }

        return LockSlow(ref seq);
    }

    private static int LockSlow(ref int seq)
    {
        SpinWait sw = default;
        while (true)
        {
            sw.SpinOnce(sleep1Threshold: -1);
            int s = Volatile.Read(ref seq);
            if ((s & 1) == 0 && Interlocked.CompareExchange(ref seq, s + 1, s) == s)
            {
                return s + 1;
            }
        }
    }

    /// <summary>Releases the lock taken by <see cref="Lock"/>: the counter moves on to the next even value.</summary>
    public static void Unlock(ref int seq, int locked) => Volatile.Write(ref seq, locked + 1);

    /// <summary>
    /// Runs <paramref name="reader"/> until one of its reads is consistent: taken while no writer held the lock,
    /// with the counter unchanged afterwards, and with <see cref="ISeqlockReader.TryRead"/> true. What it read
    /// stays in the reader, which is passed by reference so its results reach the caller.
    /// </summary>
    /// <typeparam name="TReader">A struct, usually a ref struct over the caller's spans, so the call is direct and allocates nothing.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Read<TReader>(ref int seq, scoped ref TReader reader)
        where TReader : struct, ISeqlockReader, allows ref struct
    {
        SpinWait sw = default;
        while (true)
        {
            int s = Volatile.Read(ref seq);
            if ((s & 1) == 0)
            {
                bool valid = reader.TryRead();
                Volatile.ReadBarrier();
                if (valid && Volatile.Read(ref seq) == s)
                {
                    return;
                }
            }

            sw.SpinOnce(sleep1Threshold: -1);
        }
    }
}

/// <summary>One read under a <see cref="Seqlock"/>, run again until it is consistent.</summary>
internal interface ISeqlockReader
{
    /// <summary>
    /// Reads (and copies out) without the lock, keeping what it found in the reader. False when the read
    /// itself saw that it cannot be trusted (a link out of range, a chain longer than the table, an element
    /// recycled under it), so it is retried whatever the counter says.
    /// </summary>
    bool TryRead();
}
