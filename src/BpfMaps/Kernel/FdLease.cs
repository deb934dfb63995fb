using System.Runtime.InteropServices;

namespace BpfMaps.Kernel;

/// <summary>
/// Holds a reference on a SafeHandle for the duration of one syscall, so a concurrent
/// Dispose cannot close (and the process reuse) the descriptor while the kernel reads it.
/// </summary>
internal ref struct FdLease
{
    private readonly SafeHandle? _handle;
    private bool _added;

    private FdLease(SafeHandle handle)
    {
        _handle = handle;
        _added = false;
    }

    /// <summary>Acquires the handle; returns false (and no lease) if it is closed or invalid.</summary>
    public static bool TryAcquire(SafeHandle handle, out FdLease lease, out int fd)
    {
        lease = new FdLease(handle);
        fd = -1;
        if (handle.IsClosed || handle.IsInvalid)
        {
            return false;
        }

        try
        {
            handle.DangerousAddRef(ref lease._added);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        fd = (int)handle.DangerousGetHandle();
        return lease._added;
    }

    public void Dispose()
    {
        if (_added)
        {
            _handle!.DangerousRelease();
            _added = false;
        }
    }
}
