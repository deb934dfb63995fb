using System.Runtime.InteropServices;
using BpfMaps.Interop;

namespace BpfMaps.Kernel;

/// <summary>
/// The raw tier: one method per <c>bpf()</c> command, named after the command.
/// Each returns 0 on success or a positive errno; nothing here throws or allocates
/// (apart from the handle object for a new descriptor), and nothing here knows map semantics.
/// </summary>
/// <remarks>
/// Arguments are passed through as given: sizes are the caller's business, exactly as with
/// libbpf's <c>bpf_map_*</c> functions. Closed or invalid handles give <c>EBADF</c>.
/// </remarks>
internal static unsafe partial class BpfSyscall
{
    /// <summary>Whether the current architecture has a known <c>bpf</c> syscall number.</summary>
    internal static bool IsArchitectureSupported => Interop.Interop.SysBpf > 0 && OperatingSystem.IsLinux();

    private static int Call<T>(BpfCommand cmd, ref T attr) where T : unmanaged
    {
        if (!IsArchitectureSupported)
        {
            return Errno.ENOSYS;
        }

        fixed (T* p = &attr)
        {
            long ret = Interop.Interop.Bpf(cmd, p, (uint)sizeof(T), out int errno);
            return ret < 0 ? errno : 0;
        }
    }

    private static int CallFd<T>(BpfCommand cmd, ref T attr, out BpfFd fd) where T : unmanaged
    {
        fd = new BpfFd();
        if (!IsArchitectureSupported)
        {
            return Errno.ENOSYS;
        }

        fixed (T* p = &attr)
        {
            long ret = Interop.Interop.Bpf(cmd, p, (uint)sizeof(T), out int errno);
            if (ret < 0)
            {
                return errno;
            }

            fd.Adopt((int)ret);
            return 0;
        }
    }

    private static ulong Ptr(void* p) => (ulong)p;

    /// <summary>BPF_MAP_CREATE. <paramref name="innerMap"/> may be null.</summary>
    /// <param name="attr">The create attributes; <c>inner_map_fd</c> and <c>btf_fd</c> are filled from the handles.</param>
    /// <param name="innerMap">Template inner map for map-in-map types, or null.</param>
    /// <param name="btf">BTF object describing key/value types, or null.</param>
    /// <param name="fd">The new map on success; an invalid handle otherwise.</param>
    /// <returns>0 or errno.</returns>
    private static int MapCreate(ref MapCreateAttr attr, SafeHandle? innerMap, SafeHandle? btf, out BpfFd fd)
    {
        fd = new BpfFd();
        FdLease inner = default, btfLease = default;
        try
        {
            if (innerMap is not null)
            {
                if (!FdLease.TryAcquire(innerMap, out inner, out int innerFd))
                {
                    return Errno.EBADF;
                }

                attr.inner_map_fd = (uint)innerFd;
            }

            if (btf is not null)
            {
                if (!FdLease.TryAcquire(btf, out btfLease, out int btfFd))
                {
                    return Errno.EBADF;
                }

                attr.btf_fd = (uint)btfFd;
            }

            fd.Dispose();
            return CallFd(BpfCommand.BPF_MAP_CREATE, ref attr, out fd);
        }
        finally
        {
            inner.Dispose();
            btfLease.Dispose();
        }
    }

    /// <summary>BPF_MAP_LOOKUP_ELEM.</summary>
    /// <param name="map">The map.</param>
    /// <param name="key">key_size bytes.</param>
    /// <param name="value">value buffer (value_size, or round_up(value_size, 8) * possible CPUs for per-CPU maps).</param>
    /// <param name="flags">0 or BPF_F_LOCK.</param>
    /// <returns>0 or errno (ENOENT when the key is absent).</returns>
    internal static int MapLookupElem(SafeHandle map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                var attr = new MapElemAttr { map_fd = (uint)fd, key = Ptr(k), value = Ptr(v), flags = flags };
                return Call(BpfCommand.BPF_MAP_LOOKUP_ELEM, ref attr);
            }
        }
    }

    /// <summary>BPF_MAP_UPDATE_ELEM.</summary>
    /// <param name="map">The map.</param>
    /// <param name="key">key_size bytes.</param>
    /// <param name="value">The value bytes.</param>
    /// <param name="flags">BPF_ANY, BPF_NOEXIST, BPF_EXIST, optionally with BPF_F_LOCK.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapUpdateElem(SafeHandle map, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                var attr = new MapElemAttr { map_fd = (uint)fd, key = Ptr(k), value = Ptr(v), flags = flags };
                return Call(BpfCommand.BPF_MAP_UPDATE_ELEM, ref attr);
            }
        }
    }

    /// <summary>BPF_MAP_DELETE_ELEM.</summary>
    /// <param name="map">The map.</param>
    /// <param name="key">key_size bytes.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapDeleteElem(SafeHandle map, ReadOnlySpan<byte> key)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* k = key)
            {
                var attr = new MapElemAttr { map_fd = (uint)fd, key = Ptr(k) };
                return Call(BpfCommand.BPF_MAP_DELETE_ELEM, ref attr);
            }
        }
    }

    /// <summary>BPF_MAP_GET_NEXT_KEY. An empty <paramref name="key"/> asks for the first key.</summary>
    /// <param name="map">The map.</param>
    /// <param name="key">The previous key, or empty for the first.</param>
    /// <param name="nextKey">key_size bytes to receive the next key.</param>
    /// <returns>0 or errno (ENOENT after the last key).</returns>
    internal static int MapGetNextKey(SafeHandle map, ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* k = key)
            fixed (byte* n = nextKey)
            {
                var attr = new MapElemAttr { map_fd = (uint)fd, key = key.IsEmpty ? 0 : Ptr(k), next_key = Ptr(n) };
                return Call(BpfCommand.BPF_MAP_GET_NEXT_KEY, ref attr);
            }
        }
    }

    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash types since 5.14; queue/stack since 4.20).</summary>
    /// <param name="map">The map.</param>
    /// <param name="key">key_size bytes (empty for queue/stack).</param>
    /// <param name="value">The value buffer.</param>
    /// <param name="flags">0 or BPF_F_LOCK.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapLookupAndDeleteElem(SafeHandle map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* k = key)
            fixed (byte* v = value)
            {
                var attr = new MapElemAttr { map_fd = (uint)fd, key = key.IsEmpty ? 0 : Ptr(k), value = Ptr(v), flags = flags };
                return Call(BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_ELEM, ref attr);
            }
        }
    }

    /// <summary>BPF_MAP_FREEZE (5.2): makes the map read-only for syscalls.</summary>
    /// <param name="map">The map.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapFreeze(SafeHandle map)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            var attr = new MapElemAttr { map_fd = (uint)fd };
            return Call(BpfCommand.BPF_MAP_FREEZE, ref attr);
        }
    }

    /// <summary>
    /// One of the four BPF_MAP_*_BATCH commands. <paramref name="count"/> is read (capacity) and written
    /// (entries processed); after EFAULT it cannot be trusted.
    /// </summary>
    /// <param name="cmd">Which batch command.</param>
    /// <param name="map">The map.</param>
    /// <param name="inBatch">The cursor to start from, or empty to start at the beginning.</param>
    /// <param name="outBatch">Receives the next cursor (lookup commands only).</param>
    /// <param name="keys">Keys buffer.</param>
    /// <param name="values">Values buffer.</param>
    /// <param name="count">In: entries the buffers hold. Out: entries processed.</param>
    /// <param name="elemFlags">elem_flags: 0 or BPF_F_LOCK (update: the update flags).</param>
    /// <param name="flags">flags: must be 0 today.</param>
    /// <returns>0 or errno.</returns>
    private static int MapBatch(BpfCommand cmd, SafeHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch,
        ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags, ulong flags)
    {
        if (!FdLease.TryAcquire(map, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* ib = inBatch)
            fixed (byte* ob = outBatch)
            fixed (byte* k = keys)
            fixed (byte* v = values)
            {
                var attr = new MapBatchAttr
                {
                    in_batch = inBatch.IsEmpty ? 0 : Ptr(ib),
                    out_batch = outBatch.IsEmpty ? 0 : Ptr(ob),
                    keys = keys.IsEmpty ? 0 : Ptr(k),
                    values = values.IsEmpty ? 0 : Ptr(v),
                    count = count,
                    map_fd = (uint)fd,
                    elem_flags = elemFlags,
                    flags = flags,
                };
                int err = Call(cmd, ref attr);
                count = attr.count;
                return err;
            }
        }
    }

    /// <summary>BPF_MAP_LOOKUP_BATCH (5.6).</summary>
    /// <param name="map">The map.</param>
    /// <param name="inBatch">Cursor from the previous call, or empty to start.</param>
    /// <param name="outBatch">Receives the next cursor.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values.</param>
    /// <param name="count">In: capacity in entries. Out: entries returned.</param>
    /// <param name="elemFlags">0 or BPF_F_LOCK.</param>
    /// <param name="flags">flags: must be 0 today.</param>
    /// <returns>0, or errno: ENOENT at the end (entries may still be returned), ENOSPC when a bucket does not fit.</returns>
    internal static int MapLookupBatch(SafeHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch,
        Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags = 0, ulong flags = 0)
        => MapBatch(BpfCommand.BPF_MAP_LOOKUP_BATCH, map, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    /// <summary>BPF_MAP_LOOKUP_AND_DELETE_BATCH (5.6).</summary>
    /// <param name="map">The map.</param>
    /// <param name="inBatch">Cursor from the previous call, or empty to start.</param>
    /// <param name="outBatch">Receives the next cursor.</param>
    /// <param name="keys">Receives keys.</param>
    /// <param name="values">Receives values.</param>
    /// <param name="count">In: capacity in entries. Out: entries returned and deleted.</param>
    /// <param name="elemFlags">0 or BPF_F_LOCK.</param>
    /// <param name="flags">flags: must be 0 today.</param>
    /// <returns>0 or errno, as for <see cref="MapLookupBatch"/>.</returns>
    internal static int MapLookupAndDeleteBatch(SafeHandle map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch,
        Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags = 0, ulong flags = 0)
        => MapBatch(BpfCommand.BPF_MAP_LOOKUP_AND_DELETE_BATCH, map, inBatch, outBatch, keys, values, ref count, elemFlags, flags);

    /// <summary>BPF_MAP_UPDATE_BATCH (5.6).</summary>
    /// <param name="map">The map.</param>
    /// <param name="keys">count keys.</param>
    /// <param name="values">count values.</param>
    /// <param name="count">In: entries to write. Out: entries written.</param>
    /// <param name="elemFlags">BPF_ANY / BPF_NOEXIST / BPF_EXIST, optionally | BPF_F_LOCK.</param>
    /// <param name="flags">flags: must be 0 today.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapUpdateBatch(SafeHandle map, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags = 0, ulong flags = 0)
        => MapBatch(BpfCommand.BPF_MAP_UPDATE_BATCH, map, default, default, keys, values, ref count, elemFlags, flags);

    /// <summary>BPF_MAP_DELETE_BATCH (5.6).</summary>
    /// <param name="map">The map.</param>
    /// <param name="keys">count keys.</param>
    /// <param name="count">In: keys to delete. Out: keys deleted.</param>
    /// <param name="elemFlags">0 or BPF_F_LOCK.</param>
    /// <param name="flags">flags: must be 0 today.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapDeleteBatch(SafeHandle map, ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags = 0, ulong flags = 0)
        => MapBatch(BpfCommand.BPF_MAP_DELETE_BATCH, map, default, default, keys, default, ref count, elemFlags, flags);

    /// <summary>BPF_OBJ_PIN: pins <paramref name="obj"/> at <paramref name="path"/> (NUL-terminated UTF-8).</summary>
    /// <param name="obj">The object to pin.</param>
    /// <param name="path">NUL-terminated UTF-8 path on a bpffs mount.</param>
    /// <returns>0 or errno.</returns>
    internal static int ObjPin(SafeHandle obj, ReadOnlySpan<byte> path)
    {
        if (!FdLease.TryAcquire(obj, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* p = path)
            {
                var attr = new ObjAttr { pathname = Ptr(p), bpf_fd = (uint)fd };
                return Call(BpfCommand.BPF_OBJ_PIN, ref attr);
            }
        }
    }

    /// <summary>BPF_OBJ_GET: opens the object pinned at <paramref name="path"/> (NUL-terminated UTF-8).</summary>
    /// <param name="path">NUL-terminated UTF-8 path.</param>
    /// <param name="fileFlags">0, BPF_F_RDONLY or BPF_F_WRONLY.</param>
    /// <param name="fd">The opened object.</param>
    /// <returns>0 or errno.</returns>
    internal static int ObjGet(ReadOnlySpan<byte> path, uint fileFlags, out BpfFd fd)
    {
        fixed (byte* p = path)
        {
            var attr = new ObjAttr { pathname = Ptr(p), file_flags = fileFlags };
            return CallFd(BpfCommand.BPF_OBJ_GET, ref attr, out fd);
        }
    }

    /// <summary>BPF_MAP_GET_NEXT_ID (4.13).</summary>
    /// <param name="startId">0 to get the lowest id.</param>
    /// <param name="nextId">The next map id in the system.</param>
    /// <returns>0 or errno (ENOENT after the last; EINVAL for a start of INT_MAX or more).</returns>
    internal static int MapGetNextId(uint startId, out uint nextId)
    {
        var attr = new GetIdAttr { start_id = startId };
        int err = Call(BpfCommand.BPF_MAP_GET_NEXT_ID, ref attr);
        nextId = attr.next_id;
        return err;
    }

    /// <summary>BPF_PROG_GET_NEXT_ID (4.13).</summary>
    /// <param name="startId">0 to get the lowest id.</param>
    /// <param name="nextId">The next program id.</param>
    /// <returns>0 or errno (ENOENT after the last; EINVAL for a start of INT_MAX or more).</returns>
    internal static int ProgGetNextId(uint startId, out uint nextId)
    {
        var attr = new GetIdAttr { start_id = startId };
        int err = Call(BpfCommand.BPF_PROG_GET_NEXT_ID, ref attr);
        nextId = attr.next_id;
        return err;
    }

    /// <summary>BPF_MAP_GET_FD_BY_ID (4.13).</summary>
    /// <param name="id">Map id.</param>
    /// <param name="openFlags">0, BPF_F_RDONLY or BPF_F_WRONLY.</param>
    /// <param name="fd">The opened map.</param>
    /// <returns>0 or errno (ENOENT for an unknown id).</returns>
    internal static int MapGetFdById(uint id, uint openFlags, out BpfFd fd)
    {
        var attr = new GetIdAttr { start_id = id, open_flags = openFlags };
        return CallFd(BpfCommand.BPF_MAP_GET_FD_BY_ID, ref attr, out fd);
    }

    /// <summary>BPF_PROG_GET_FD_BY_ID (4.13).</summary>
    /// <param name="id">Program id.</param>
    /// <param name="fd">The opened program.</param>
    /// <returns>0 or errno (ENOENT for an unknown id).</returns>
    internal static int ProgGetFdById(uint id, out BpfFd fd)
    {
        var attr = new GetIdAttr { start_id = id };
        return CallFd(BpfCommand.BPF_PROG_GET_FD_BY_ID, ref attr, out fd);
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD (4.13) into a caller buffer; <paramref name="infoLen"/> is in/out.</summary>
    /// <param name="obj">Any BPF object.</param>
    /// <param name="info">Buffer for the info struct.</param>
    /// <param name="infoLen">In: buffer size. Out: bytes the kernel wrote.</param>
    /// <returns>0 or errno (EINVAL for an fd that is not a BPF object).</returns>
    internal static int ObjGetInfoByFd(SafeHandle obj, Span<byte> info, out uint infoLen)
    {
        infoLen = 0;
        if (!FdLease.TryAcquire(obj, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            fixed (byte* i = info)
            {
                var attr = new InfoByFdAttr { bpf_fd = (uint)fd, info_len = (uint)info.Length, info = Ptr(i) };
                int err = Call(BpfCommand.BPF_OBJ_GET_INFO_BY_FD, ref attr);
                infoLen = attr.info_len;
                return err;
            }
        }
    }



    /// <summary>BPF_OBJ_GET_INFO_BY_FD on a program with <c>map_ids</c> pointing at <paramref name="ids"/>: the ids of the maps it uses.</summary>
    /// <param name="prog">The program.</param>
    /// <param name="ids">Receives up to its length of map ids.</param>
    /// <param name="count">How many maps the program uses (may exceed <paramref name="ids"/>' length).</param>
    /// <returns>0 or errno.</returns>
    internal static int ProgGetMapIds(SafeHandle prog, Span<uint> ids, out uint count)
    {
        count = 0;
        fixed (uint* p = ids)
        {
            var info = new BpfProgInfoNative { nr_map_ids = (uint)ids.Length, map_ids = (ulong)p };
            Span<byte> buf = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref info, 1));
            int err = ObjGetInfoByFd(prog, buf, out _);
            count = info.nr_map_ids;
            return err;
        }
    }

    private static int ProgLoad(ref ProgLoadAttr attr, out BpfFd fd) => CallFd(BpfCommand.BPF_PROG_LOAD, ref attr, out fd);

    private static int ProgTestRun(SafeHandle prog, ref TestRunAttr attr)
    {
        if (!FdLease.TryAcquire(prog, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            attr.prog_fd = (uint)fd;
            return Call(BpfCommand.BPF_PROG_TEST_RUN, ref attr);
        }
    }

    private static int BtfLoad(ref BtfLoadAttr attr, out BpfFd fd) => CallFd(BpfCommand.BPF_BTF_LOAD, ref attr, out fd);

    /// <summary>BPF_BTF_GET_FD_BY_ID (5.0).</summary>
    /// <param name="id">BTF object id.</param>
    /// <param name="fd">The opened BTF object.</param>
    /// <returns>0 or errno (ENOENT for an unknown id).</returns>
    internal static int BtfGetFdById(uint id, out BpfFd fd)
    {
        var attr = new GetIdAttr { start_id = id };
        return CallFd(BpfCommand.BPF_BTF_GET_FD_BY_ID, ref attr, out fd);
    }

    /// <summary>BPF_BTF_GET_NEXT_ID (5.4).</summary>
    /// <param name="startId">0 to get the lowest id.</param>
    /// <param name="nextId">The next BTF object id.</param>
    /// <returns>0 or errno (ENOENT after the last).</returns>
    internal static int BtfGetNextId(uint startId, out uint nextId)
    {
        var attr = new GetIdAttr { start_id = startId };
        int err = Call(BpfCommand.BPF_BTF_GET_NEXT_ID, ref attr);
        nextId = attr.next_id;
        return err;
    }

    /// <summary>
    /// BPF_OBJ_GET_INFO_BY_FD on a BTF object. With an empty <paramref name="data"/> and <paramref name="name"/>
    /// it only reports the sizes; called again with buffers of those sizes, it copies the raw BTF and the name.
    /// </summary>
    /// <param name="btf">The BTF object.</param>
    /// <param name="data">Receives the raw BTF (btf_size bytes), or empty.</param>
    /// <param name="name">Receives the NUL-terminated name, or empty.</param>
    /// <param name="info">The info the kernel wrote: sizes, id, whether it is kernel BTF.</param>
    /// <returns>0 or errno (ENOSPC when a buffer is too small).</returns>
    private static int BtfGetInfo(SafeHandle btf, Span<byte> data, Span<byte> name, out BpfBtfInfoNative info)
    {
        info = default;
        fixed (byte* d = data)
        fixed (byte* n = name)
        {
            info.btf = data.IsEmpty ? 0 : Ptr(d);
            info.btf_size = (uint)data.Length;
            info.name = name.IsEmpty ? 0 : Ptr(n);
            info.name_len = (uint)name.Length;
            Span<byte> buf = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref info, 1));
            return ObjGetInfoByFd(btf, buf, out _);
        }
    }
}
