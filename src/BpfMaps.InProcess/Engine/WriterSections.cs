using System.Runtime.InteropServices;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// The in-process stand-in for the RCU read side that BPF programs run under: writers mark the
/// stretch in which they use a published pointer, and <see cref="WaitForReaders"/> returns once every
/// stretch that was running when it was called has ended.
/// </summary>
/// <remarks>
/// <para>
/// Each writer thread owns one slot with a sequence number, on its own cache line, so writers never
/// write a shared line: odd means "inside", even means "outside". <see cref="Enter"/> increments it
/// with an interlocked add (a full fence) before the writer reads the published pointer;
/// <see cref="Exit"/> increments it again with a release store after the writer's last access.
/// </para>
/// <para>
/// Why the wait is enough. The updater publishes the new pointer with an interlocked exchange (a full
/// fence) and then reads every slot. A writer that read the old pointer did so after its own fence in
/// Enter, so that fence comes before the updater's in the fences' total order, and the updater's read
/// of the slot sees the odd value that Enter stored (or a later value, meaning the stretch is over).
/// Waiting until each odd slot changes therefore waits out every stretch that can still hold the old
/// pointer. A stretch whose fence comes after the updater's reads the new pointer. Slots are
/// registered under <see cref="_gate"/> before their first Enter, and the updater copies the list
/// under the same lock after its fence, so a thread's first stretch is not missed either.
/// </para>
/// <para>
/// Writers never wait; the updater waits only for stretches already under way (a few hundred
/// nanoseconds each), not for writers to go quiet. A thread's slot stays registered after the thread
/// exits (one 128-byte object per thread that ever wrote), with an even sequence that costs the
/// updater one read.
/// </para>
/// </remarks>
internal sealed class WriterSections : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<Slot> _all = [];
    private readonly ThreadLocal<Slot> _mine;

    public WriterSections() => _mine = new ThreadLocal<Slot>(Register);

    /// <summary>Starts a stretch on the calling thread; read the published pointer after this.</summary>
    /// <returns>The thread's slot, to hand to <see cref="Exit"/>.</returns>
    public Slot Enter()
    {
        Slot slot = _mine.Value!;
        Interlocked.Increment(ref slot.Sequence);
        return slot;
    }

    /// <summary>Ends the stretch <see cref="Enter"/> started.</summary>
    /// <param name="slot">What Enter returned.</param>
    public static void Exit(Slot slot) => Volatile.Write(ref slot.Sequence, slot.Sequence + 1);

    /// <summary>
    /// Waits until every stretch under way now has ended. Call it after publishing the new pointer
    /// with a full fence (an interlocked exchange).
    /// </summary>
    /// <returns>How many stretches it had to wait for.</returns>
    public int WaitForReaders()
    {
        Interlocked.MemoryBarrier();
        Slot[] slots;
        lock (_gate)
        {
            slots = [.. _all];
        }

        int waited = 0;
        foreach (Slot slot in slots)
        {
            long seq = Volatile.Read(ref slot.Sequence);
            if ((seq & 1) == 0)
            {
                continue;
            }

            waited++;
            var spin = new SpinWait();
            while (Volatile.Read(ref slot.Sequence) == seq)
            {
                spin.SpinOnce();
            }
        }

        return waited;
    }

    /// <summary>Threads registered so far.</summary>
    public int Registered
    {
        get
        {
            lock (_gate)
            {
                return _all.Count;
            }
        }
    }

    public void Dispose() => _mine.Dispose();

    private Slot Register()
    {
        var slot = new Slot();
        lock (_gate)
        {
            _all.Add(slot);
        }

        return slot;
    }

    /// <summary>One writer thread's sequence, alone on its cache line (64 bytes of padding either side).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 136)]
    internal sealed class Slot
    {
        [FieldOffset(64)]
        public long Sequence;
    }
}
