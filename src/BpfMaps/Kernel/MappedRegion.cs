using System.Runtime.InteropServices;

namespace BpfMaps.Kernel;

/// <summary>
/// A window of memory the library hands out as spans: an mmap of a map (<see cref="MemoryMapping"/>), a view
/// into one (<see cref="RegionView"/>), or the in-process engine's own memory. It is released exactly once,
/// by its SafeHandle, and only after every caller that leased it (DangerousAddRef around each use) is done,
/// so a Dispose racing a reader cannot unmap memory under it. Every live region is counted for the leak
/// harness.
/// </summary>
/// <remarks>
/// Public as part of the backend memory seam (<see cref="IMapMemoryBackend"/>): a backend returns regions
/// from <see cref="IMapMemoryBackend.MapMemory"/>, and may derive its own (the in-process engine's pinned
/// memory) by implementing <see cref="Unmap"/>. The public tier alone turns regions into spans.
/// </remarks>
public abstract unsafe class MappedRegion : SafeHandle
{
    private static readonly LeakTracker s_tracker = new();

    /// <summary>A region of <paramref name="length"/> bytes at <paramref name="address"/>, owned from now on.</summary>
    /// <param name="address">The first byte.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="writable">Whether spans over it may be written.</param>
    protected MappedRegion(nint address, nuint length, bool writable)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Length = length;
        Writable = writable;
        SetHandle(address);
        s_tracker.Created(this);
    }

    /// <summary>Regions created and not yet released, process-wide.</summary>
    internal static long LiveCount => s_tracker.LiveCount;

    /// <summary>Creation stacks of the live regions (empty unless <c>BPFMAPS_TRACK_FDS=1</c>).</summary>
    internal static IReadOnlyCollection<string> LiveOrigins => s_tracker.LiveOrigins;

    /// <summary>Regions the finalizer released instead of Dispose.</summary>
    internal static long FinalizedCount => s_tracker.FinalizedCount;

    /// <summary>Creation stacks of the regions the finalizer released.</summary>
    internal static IReadOnlyCollection<string> FinalizedOrigins => s_tracker.FinalizedOrigins;

    /// <summary>The first byte; valid while the region is open (and leased, if another thread may dispose it).</summary>
    public byte* Address => (byte*)handle;

    /// <summary>Bytes in the region.</summary>
    public nuint Length { get; }

    /// <summary>Whether the region may be written.</summary>
    public bool Writable { get; }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid && !IsClosed)
        {
            s_tracker.Finalizing(this);
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected sealed override bool ReleaseHandle()
    {
        s_tracker.Released(this);
        return Unmap();
    }

    /// <summary>Gives the memory back; called once, when the last lease is gone.</summary>
    protected abstract bool Unmap();
}

/// <summary>An mmap: unmapped with munmap when released.</summary>
public sealed unsafe class MemoryMapping : MappedRegion
{
    private MemoryMapping(nint address, nuint length, bool writable)
        : base(address, length, writable)
    {
    }

    /// <summary>
    /// mmap(NULL, length, prot, MAP_SHARED, fd, offset): maps <paramref name="length"/> bytes of the object
    /// behind <paramref name="fd"/>, which is held for the call.
    /// </summary>
    /// <param name="fd">A map or memfd descriptor.</param>
    /// <param name="length">Bytes to map (the kernel rounds up to pages).</param>
    /// <param name="writable">PROT_READ | PROT_WRITE, or PROT_READ only.</param>
    /// <param name="offset">Byte offset into the object, a multiple of the page size.</param>
    /// <param name="mapping">The mapping, or null on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int Map(SafeHandle fd, nuint length, bool writable, long offset, out MemoryMapping? mapping)
    {
        mapping = null;
        if (!FdLease.TryAcquire(fd, out var lease, out int raw))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            int prot = Interop.Mman.ProtRead | (writable ? Interop.Mman.ProtWrite : 0);
            nint p = Interop.Mman.Mmap(0, length, prot, Interop.Mman.MapShared, raw, offset);
            if (p == Interop.Mman.MapFailed)
            {
                return Marshal.GetLastSystemError();
            }

            mapping = new MemoryMapping(p, length, writable);
            return 0;
        }
    }

    /// <summary>
    /// Reserves <paramref name="length"/> bytes of address space (anonymous, PROT_NONE) to map into with
    /// <see cref="MapFixed"/>; releasing the reservation unmaps whatever was mapped inside it.
    /// </summary>
    /// <param name="length">Bytes, a multiple of the page size.</param>
    /// <param name="mapping">The reservation, or null on failure.</param>
    /// <returns>0 or errno.</returns>
    public static int Reserve(nuint length, out MemoryMapping? mapping)
    {
        mapping = null;
        nint p = Interop.Mman.Mmap(0, length, Interop.Mman.ProtNone, Interop.Mman.MapPrivate | Interop.Mman.MapAnonymous, -1, 0);
        if (p == Interop.Mman.MapFailed)
        {
            return Marshal.GetLastSystemError();
        }

        mapping = new MemoryMapping(p, length, writable: true);
        return 0;
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/> over the
    /// reservation at byte <paramref name="at"/> (MAP_FIXED | MAP_SHARED, read and write).
    /// </summary>
    /// <param name="at">Byte offset into this reservation.</param>
    /// <param name="length">Bytes to map.</param>
    /// <param name="fd">The object to map.</param>
    /// <param name="offset">Offset into the object.</param>
    /// <returns>0 or errno.</returns>
    public int MapFixed(nuint at, nuint length, SafeHandle fd, long offset)
    {
        if (at + length > Length)
        {
            return Errno.EINVAL;
        }

        if (!FdLease.TryAcquire(fd, out var lease, out int raw))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            nint p = Interop.Mman.Mmap((nint)(Address + at), length, Interop.Mman.ProtRead | Interop.Mman.ProtWrite,
                Interop.Mman.MapShared | Interop.Mman.MapFixed, raw, offset);
            return p == Interop.Mman.MapFailed ? Marshal.GetLastSystemError() : 0;
        }
    }

    /// <inheritdoc />
    protected override bool Unmap() => Interop.Mman.Munmap(handle, Length) == 0;
}

/// <summary>
/// A window into another region that keeps it alive: the parent is leased for the view's lifetime and let
/// go when the view is released, so the memory outlives whoever unmapped the parent first. Optionally
/// reports its release (the engine counts writable views of a map, as the kernel counts writable mmaps).
/// </summary>
public sealed unsafe class RegionView : MappedRegion
{
    private readonly MappedRegion _parent;
    private readonly Action? _onRelease;

    private RegionView(MappedRegion parent, nuint offset, nuint length, bool writable, Action? onRelease)
        : base((nint)(parent.Address + offset), length, writable)
    {
        _parent = parent;
        _onRelease = onRelease;
    }

    /// <summary>A view of <paramref name="length"/> bytes at <paramref name="offset"/> of <paramref name="parent"/>.</summary>
    /// <param name="parent">The region to view; it is leased until the view is released.</param>
    /// <param name="offset">Byte offset.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="writable">Whether callers may write through the view.</param>
    /// <param name="onRelease">Called once when the view is released, or null.</param>
    /// <param name="view">The view, or null when the parent is closed.</param>
    /// <returns>0, EINVAL for a window outside the parent, or EBADF for a closed parent.</returns>
    public static int Create(MappedRegion parent, nuint offset, nuint length, bool writable, Action? onRelease, out RegionView? view)
    {
        view = null;
        if (offset > parent.Length || length > parent.Length - offset)
        {
            return Errno.EINVAL;
        }

        bool added = false;
        try
        {
            parent.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return Errno.EBADF;
        }

        view = new RegionView(parent, offset, length, writable, onRelease);
        return 0;
    }

    /// <inheritdoc />
    protected override bool Unmap()
    {
        _onRelease?.Invoke();
        _parent.DangerousRelease();
        return true;
    }
}
