using System.Runtime.InteropServices;
using BpfMaps.Interop;

namespace BpfMaps.Kernel;

/// <summary>
/// The kernel backend: every call is one bpf() syscall on the owned descriptor. The kernel reads and
/// writes key_size, value and count-sized regions whatever the buffers are, so each call first checks
/// its spans against the map's <see cref="MapLayout"/> and throws <see cref="ArgumentException"/> for
/// one that is too short; kernel failures are returned as errno.
/// </summary>
public sealed class KernelMapBackend : IMapBackend, IMapMemoryBackend
{
    private readonly BpfFd _fd;
    private readonly MapLayout _layout;

    /// <summary>
    /// Wraps an open map descriptor; ownership passes to the backend. The map's sizes are read from the
    /// kernel (BPF_OBJ_GET_INFO_BY_FD, Linux 4.13), never taken from the caller, because every buffer
    /// check rests on them.
    /// </summary>
    /// <param name="fd">The map descriptor.</param>
    /// <exception cref="BpfException">The descriptor is closed or not a BPF object (EBADF, EINVAL).</exception>
    public KernelMapBackend(BpfFd fd)
        : this(fd, ReadInfo(fd))
    {
    }

    internal KernelMapBackend(BpfFd fd, MapInfo info)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentNullException.ThrowIfNull(info);
        _fd = fd;
        Info = info;
        _layout = new MapLayout(info, BpfMaps.PossibleCpus.Count);
    }

    /// <inheritdoc />
    public MapInfo Info { get; }

    /// <inheritdoc />
    public int PossibleCpus => BpfMaps.PossibleCpus.Count;

    /// <inheritdoc />
    public SafeHandle? Handle => _fd;

    /// <summary>The owned descriptor.</summary>
    public BpfFd Fd => _fd;

    /// <summary>
    /// Reads the map's BTF from the kernel (BPF_BTF_GET_FD_BY_ID on the map's btf_id, Linux 5.0); for a
    /// struct_ops map whose value type lives in vmlinux, the kernel's BTF.
    /// </summary>
    /// <returns>The BTF, or null when the map has none.</returns>
    /// <exception cref="BpfException">The kernel refused (EPERM without privileges).</exception>
    /// <exception cref="Btf.BtfException">The BTF is malformed.</exception>
    public Btf.BtfSpec? LoadBtf()
        => Info.BtfVmlinuxValueTypeId != 0 ? Btf.BtfSpec.CachedVmlinux()
            : Info.BtfId != 0 ? Btf.BtfSpec.LoadById(Info.BtfId)
            : null;

    /// <inheritdoc />
    public int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
    {
        _layout.CheckKey(key, nameof(key));
        _layout.CheckValue(value.Length, nameof(value));
        return BpfSyscall.MapLookupElem(_fd, key, value, flags);
    }

    /// <inheritdoc />
    public int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        _layout.CheckKey(key, nameof(key));
        _layout.CheckValue(value.Length, nameof(value));
        return BpfSyscall.MapUpdateElem(_fd, key, value, flags);
    }

    /// <inheritdoc />
    public int UpdateInner(ReadOnlySpan<byte> key, IMapBackend inner, ulong flags)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _layout.CheckKey(key, nameof(key));
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
    public int Delete(ReadOnlySpan<byte> key)
    {
        _layout.CheckKey(key, nameof(key));
        return BpfSyscall.MapDeleteElem(_fd, key);
    }

    /// <inheritdoc />
    public int GetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty)
        {
            _layout.CheckKey(key, nameof(key));
        }

        _layout.CheckKey(nextKey, nameof(nextKey));
        return BpfSyscall.MapGetNextKey(_fd, key, nextKey);
    }

    /// <inheritdoc />
    public int LookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
    {
        _layout.CheckKey(key, nameof(key));
        _layout.CheckValue(value.Length, nameof(value));
        return BpfSyscall.MapLookupAndDeleteElem(_fd, key, value, flags);
    }

    /// <inheritdoc />
    public int Freeze() => BpfSyscall.MapFreeze(_fd);

    /// <inheritdoc />
    public int LookupBatch(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        _layout.CheckCursor(inBatch.Length, outBatch.Length);
        _layout.CheckBatch(keys.Length, values.Length, count);
        return BpfSyscall.MapBatch(andDelete ? BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH : BpfCommand.BPF_MAP_LOOKUP_BATCH,
            _fd, inBatch, outBatch, keys, values, ref count, elemFlags, flags);
    }

    /// <inheritdoc />
    public int UpdateBatch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        _layout.CheckBatch(keys.Length, values.Length, count);
        return BpfSyscall.MapBatch(BpfCommand.BPF_MAP_UPDATE_BATCH, _fd, default, default, keys, values, ref count, elemFlags, flags);
    }

    /// <inheritdoc />
    public int DeleteBatch(ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags, ulong flags)
    {
        _layout.CheckBatch(keys.Length, 0, count, checkValues: false);
        return BpfSyscall.MapBatch(BpfCommand.BPF_MAP_DELETE_BATCH, _fd, default, default, keys, default, ref count, elemFlags, flags);
    }

    /// <inheritdoc />
    public void Dispose() => _fd.Dispose();

    int IMapMemoryBackend.MapMemory(long offset, long length, bool writable, out MappedRegion? region)
    {
        region = null;
        if (offset < 0 || length <= 0)
        {
            return Errno.EINVAL;
        }

        int err = MemoryMapping.Map(_fd, (nuint)length, writable, offset, out MemoryMapping? mapping);
        region = mapping;
        return err;
    }

    int IMapMemoryBackend.OpenPollHandle(out SafeHandle? handle)
    {
        handle = null;
        if (!FdLease.TryAcquire(_fd, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            // A descriptor of its own, so the waiter does not depend on this backend staying open.
            int copy = Interop.Interop.Dup(fd);
            if (copy < 0)
            {
                return Marshal.GetLastSystemError();
            }

            handle = new BpfFd(copy);
            return 0;
        }
    }

    private static MapInfo ReadInfo(BpfFd fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        int err = BpfSyscall.MapGetInfo(fd, out BpfMapInfoNative native);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
        }

        if (!IsMapDescriptor(fd))
        {
            throw new BpfException(Errno.EINVAL, BpfCommand.BPF_OBJ_GET_INFO_BY_FD, "the descriptor is a BPF object but not a map");
        }

        return ToInfo(native);
    }

    // OBJ_GET_INFO_BY_FD also answers for programs, BTF and links, each with its own struct; the
    // descriptor's anon-inode name is what tells a map apart.
    internal static bool IsMapDescriptor(BpfFd fd)
    {
        try
        {
            string? target = new FileInfo($"/proc/self/fd/{fd.Value}").LinkTarget;
            return target is null || target == "anon_inode:bpf-map";
        }
        catch (IOException)
        {
            return true;
        }
    }

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
            (MapFlags)n.map_flags, name, n.btf_id, n.btf_key_type_id, n.btf_value_type_id, n.ifindex, n.map_extra, n.btf_vmlinux_value_type_id);
    }
}
