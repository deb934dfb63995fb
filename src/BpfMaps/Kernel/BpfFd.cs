using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Collections.Concurrent;

namespace BpfMaps.Kernel;

/// <summary>
/// Owns one BPF object file descriptor (map, program, BTF). Closing it releases the kernel
/// object's reference held by this process.
/// </summary>
/// <remarks>
/// Every live handle is counted; with <c>BPFMAPS_TRACK_FDS=1</c> in the environment the stack
/// that created each one is kept too, so a test harness can name the place a leak came from.
/// </remarks>
public sealed class BpfFd : SafeHandle
{
    private static long s_live;
    private static readonly bool s_track = Environment.GetEnvironmentVariable("BPFMAPS_TRACK_FDS") == "1";
    private static readonly ConcurrentDictionary<BpfFd, string> s_origins = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates an invalid handle.</summary>
    public BpfFd() : base(invalidHandleValue: -1, ownsHandle: true)
    {
    }

    /// <summary>Takes ownership of an existing descriptor.</summary>
    /// <param name="fd">The descriptor; it is closed when this handle is disposed.</param>
    public BpfFd(int fd) : this()
    {
        Adopt(fd);
    }

    /// <summary>Number of handles created and not yet released, process-wide.</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    /// <summary>Creation stacks of the live handles (empty unless <c>BPFMAPS_TRACK_FDS=1</c>).</summary>
    public static IReadOnlyCollection<string> LiveOrigins => s_origins.Values.ToArray();

    /// <inheritdoc />
    public override bool IsInvalid => handle == -1;

    /// <summary>The raw descriptor number; valid only while the handle is open.</summary>
    public int Value => (int)handle;

    internal void Adopt(int fd)
    {
        Debug.Assert(fd >= 0);
        SetHandle(fd);
        Interlocked.Increment(ref s_live);
        if (s_track)
        {
            s_origins[this] = new StackTrace(1, fNeedFileInfo: true).ToString();
        }
    }

    /// <summary>Handles that were closed by the finalizer instead of Dispose: leaks that the GC cleaned up.</summary>
    public static long FinalizedCount => Interlocked.Read(ref s_finalized);

    /// <summary>Creation stacks of handles the finalizer closed (empty unless <c>BPFMAPS_TRACK_FDS=1</c>).</summary>
    public static IReadOnlyCollection<string> FinalizedOrigins => s_finalizedOrigins.ToArray();

    private static long s_finalized;
    private static readonly ConcurrentQueue<string> s_finalizedOrigins = new();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid && !IsClosed)
        {
            Interlocked.Increment(ref s_finalized);
            if (s_track && s_origins.TryGetValue(this, out string? origin))
            {
                s_finalizedOrigins.Enqueue(origin);
            }
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        Interlocked.Decrement(ref s_live);
        if (s_track)
        {
            s_origins.TryRemove(this, out _);
        }

        return Interop.Interop.Close((int)handle) == 0;
    }
}
