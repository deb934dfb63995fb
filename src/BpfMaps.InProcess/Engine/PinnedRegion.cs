using System.Runtime.CompilerServices;
using BpfMaps.Kernel;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// A view of part of a pinned array (an mmapable array's elements) as a <see cref="MappedRegion"/>: it keeps the
/// array alive while handed out, and reports its release (the engine counts writable views, as the kernel counts
/// writable mmaps).
/// </summary>
internal sealed unsafe class PinnedRegion : MappedRegion
{
    private readonly byte[] _array;
    private readonly Action? _onRelease;

    public PinnedRegion(byte[] pinned, int offset, int length, bool writable, Action? onRelease)
        : base((nint)Unsafe.AsPointer(ref pinned[offset]), (nuint)length, writable)
    {
        _array = pinned;
        _onRelease = onRelease;
    }

    protected override bool Unmap()
    {
        _onRelease?.Invoke();
        GC.KeepAlive(_array);
        return true;
    }
}
