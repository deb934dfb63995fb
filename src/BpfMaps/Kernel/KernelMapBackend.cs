using System.Runtime.InteropServices;
using BpfMaps.Interop;

namespace BpfMaps.Kernel;

/// <summary>The kernel backend: every call is one bpf() syscall on the owned descriptor.</summary>
public sealed class KernelMapBackend : IMapBackend
{
    private readonly BpfFd _fd;

    /// <summary>Wraps an open map descriptor; ownership passes to the backend.</summary>
    /// <param name="fd">The map descriptor.</param>
    /// <param name="info">The map's info (from BPF_OBJ_GET_INFO_BY_FD).</param>
    public KernelMapBackend(BpfFd fd, MapInfo info)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentNullException.ThrowIfNull(info);
        _fd = fd;
        Info = info;
    }

    /// <inheritdoc />
    public MapInfo Info { get; }

    /// <inheritdoc />
    public int PossibleCpus => BpfMaps.PossibleCpus.Count;

    /// <inheritdoc />
    public SafeHandle? Handle => _fd;

    /// <summary>The owned descriptor.</summary>
    public BpfFd Fd => _fd;

    /// <inheritdoc />
    public int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags) => BpfSyscall.MapLookupElem(_fd, key, value, flags);

    /// <inheritdoc />
    public int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags) => BpfSyscall.MapUpdateElem(_fd, key, value, flags);

    /// <inheritdoc />
    public int UpdateInner(ReadOnlySpan<byte> key, IMapBackend inner, ulong flags)
    {
        if (inner.Handle is not { } handle || !FdLease.TryAcquire(handle, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            Span<byte> value = stackalloc byte[sizeof(uint)];
            MemoryMarshal.Write(value, fd);
            return BpfSyscall.MapUpdateElem(_fd, key, value, flags);
        }
    }

    /// <inheritdoc />
    public int Delete(ReadOnlySpan<byte> key) => BpfSyscall.MapDeleteElem(_fd, key);

    /// <inheritdoc />
    public int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey) => BpfSyscall.MapGetNextKey(_fd, key, nextKey);

    /// <inheritdoc />
    public int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags) => BpfSyscall.MapLookupAndDeleteElem(_fd, key, value, flags);

    /// <inheritdoc />
    public int Freeze() => BpfSyscall.MapFreeze(_fd);

    /// <inheritdoc />
    public int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => BpfSyscall.MapBatch(andDelete ? BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH : BpfCommand.BPF_MAP_LOOKUP_BATCH,
            _fd, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    /// <inheritdoc />
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => BpfSyscall.MapBatch(BpfCommand.BPF_MAP_UPDATE_BATCH, _fd, default, default, keys, values, ref count, elemFlags, flags);

    /// <inheritdoc />
    public int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags)
        => BpfSyscall.MapBatch(BpfCommand.BPF_MAP_DELETE_BATCH, _fd, default, default, keys, default, ref count, elemFlags, flags);

    /// <inheritdoc />
    public void Dispose() => _fd.Dispose();

    internal static unsafe MapInfo ToInfo(in BpfMapInfoNative n)
    {
        string name;
        fixed (byte* p = n.name)
        {
            var span = new ReadOnlySpan<byte>(p, 16);
            int len = span.IndexOf((byte)0);
            name = System.Text.Encoding.ASCII.GetString(len < 0 ? span : span[..len]);
        }

        return new MapInfo((MapType)n.type, n.id, (int)n.key_size, (int)n.value_size, (int)n.max_entries,
            (MapFlags)n.map_flags, name, n.btf_id, n.btf_key_type_id, n.btf_value_type_id, n.ifindex, n.map_extra);
    }
}
