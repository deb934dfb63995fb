using System.Runtime.InteropServices;
using System.Text;
using BpfMaps.Btf;
using BpfMaps.Kernel;

namespace BpfMaps;

/// <summary>
/// A BPF map: the public tier over one backend (the kernel, or the in-process engine).
/// Arguments are validated here, then passed to the backend; kernel errors become
/// <see cref="BpfException"/>, expected absence becomes a false return.
/// </summary>
public sealed partial class BpfMap : IDisposable
{
    private readonly IMapBackend _backend;

    /// <summary>
    /// Wraps a backend. The map owns it and disposes it. With <see cref="DelegatingMapBackend"/> this is the
    /// extension point for backends (decorators over the kernel or the in-process engine): every call still
    /// passes the map's argument checks first; see "Extension point: map backends" in docs/architecture.md.
    /// </summary>
    /// <param name="backend">The backend.</param>
    public BpfMap(IMapBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _backend = backend;
        MapInfo info = backend.Info;
        Type = info.Type;
        MaxEntries = info.MaxEntries;
        IsPerCpu = info.Type.IsPerCpu();
        Layout = new MapLayout(info, backend.PossibleCpus);
    }

    /// <summary>The map's buffer geometry: key, value and cursor sizes as the map commands use them.</summary>
    public MapLayout Layout { get; }

    /// <summary>The backend every call goes to.</summary>
    public IMapBackend Backend => _backend;

    /// <summary>The kernel descriptor, or null for the in-process engine.</summary>
    public SafeHandle? Handle => _backend.Handle;

    /// <summary>The map type.</summary>
    public MapType Type { get; }

    /// <summary>Key size in bytes.</summary>
    public int KeySize => Layout.KeySize;

    /// <summary>Value size in bytes (of one CPU's value for per-CPU maps).</summary>
    public int ValueSize => Layout.ValueSize;

    /// <summary>Maximum number of entries.</summary>
    public int MaxEntries { get; }

    /// <summary>Whether values are per CPU.</summary>
    public bool IsPerCpu { get; }

    /// <summary>Number of value slots per entry: possible CPUs for per-CPU maps, else 1.</summary>
    public int Cpus => Layout.Cpus;

    /// <summary>Bytes between two CPUs' values: <c>round_up(value_size, 8)</c> for per-CPU maps.</summary>
    public int ValueStride => Layout.ValueStride;

    /// <summary>Bytes one entry's value occupies in lookup/update buffers.</summary>
    public int ValueBufferSize => Layout.ValueBufferSize;

    /// <summary>The map's info as of when it was opened (name, id, flags, sizes).</summary>
    public MapInfo Info => _backend.Info;

    /// <summary>The system-wide map id (0 for in-process maps without one).</summary>
    public uint Id => _backend.Info.Id;

    /// <summary>The map name.</summary>
    public string Name => _backend.Info.Name;

    /// <summary>Creates a map with BPF_MAP_CREATE (Linux 3.18; names 4.15, BTF 4.18, map-in-map 4.12).</summary>
    /// <param name="spec">What to create. With <see cref="MapSpec.BtfTypes"/>, the BTF is loaded first
    /// (BPF_BTF_LOAD, Linux 4.18) and closed once the map holds it.</param>
    /// <returns>The new map.</returns>
    /// <exception cref="ArgumentException">The spec is inconsistent (sizes, name, both <see cref="MapSpec.Btf"/> and <see cref="MapSpec.BtfTypes"/>).</exception>
    /// <exception cref="BpfException">The kernel refused (EPERM without privileges, EINVAL for bad sizes or flags or BTF
    /// that does not fit the sizes); BPF_BTF_LOAD refused <see cref="MapSpec.BtfTypes"/> (its message carries the kernel's log).</exception>
    public static BpfMap Create(MapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var args = new MapCreateArgs((uint)spec.Type, (uint)spec.KeySize, (uint)spec.ValueSize, (uint)spec.MaxEntries, (uint)spec.Flags,
            spec.Name, spec.NumaNode, spec.BtfKeyTypeId, spec.BtfValueTypeId, spec.BtfVmlinuxValueTypeId, spec.MapExtra);

        SafeHandle? inner = null;
        if (spec.InnerMap is not null)
        {
            inner = spec.InnerMap.Handle ?? throw new ArgumentException("the inner map of a kernel map must be a kernel map", nameof(spec));
        }

        // The map takes its own reference on the BTF object, so one loaded here only for the create is closed
        // after it. Without type ids the kernel does not look at btf_fd, so neither is anything loaded.
        using BtfObject? loaded = spec.BtfTypes is { } types && (spec.BtfKeyTypeId | spec.BtfValueTypeId) != 0 ? BtfObject.Load(types.RawBytes) : null;
        int err = BpfSyscall.MapCreate(args, inner, (loaded ?? spec.Btf)?.Fd, out BpfFd fd);
        if (err != 0)
        {
            fd.Dispose();
            throw BpfErrors.Create(err, BpfCommand.BPF_MAP_CREATE, spec.Type);
        }

        return FromOwnedFd(fd);
    }

    internal static void ValidateSpec(MapSpec spec)
    {
        if (spec.KeySize < 0)
        {
            BpfErrors.ThrowArgument(nameof(spec), $"key size {spec.KeySize} is negative");
        }

        if (spec.ValueSize < 0)
        {
            BpfErrors.ThrowArgument(nameof(spec), $"value size {spec.ValueSize} is negative");
        }

        if (spec.MaxEntries < 0)
        {
            BpfErrors.ThrowArgument(nameof(spec), $"max entries {spec.MaxEntries} is negative");
        }

        if (spec.Name is { } n)
        {
            if (n.Length > 15)
            {
                BpfErrors.ThrowArgument(nameof(spec), $"map name '{n}' is {n.Length} characters; the kernel allows at most 15");
            }

            foreach (char c in n)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
                {
                    BpfErrors.ThrowArgument(nameof(spec), $"map name '{n}' has '{c}'; only ASCII letters, digits, '_' and '.' are allowed");
                }
            }
        }

        if (spec.Btf is not null && spec.BtfTypes is not null)
        {
            BpfErrors.ThrowArgument(nameof(spec), "the spec has both Btf (a loaded BTF object) and BtfTypes (a BTF blob); set one");
        }

        if (spec.Type.IsMapInMap() && spec.InnerMap is null)
        {
            BpfErrors.ThrowArgument(nameof(spec), $"{spec.Type} needs an InnerMap template");
        }
    }

    /// <summary>Takes ownership of an open map descriptor and reads its info (BPF_OBJ_GET_INFO_BY_FD, Linux 4.13).</summary>
    /// <param name="fd">The descriptor; disposed if it is not a map.</param>
    /// <returns>The map.</returns>
    /// <exception cref="BpfException">The descriptor is not a BPF map (EINVAL/EBADF).</exception>
    public static BpfMap FromOwnedFd(BpfFd fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        int err = BpfSyscall.MapGetInfo(fd, out MapInfoFields native);
        if (err != 0)
        {
            fd.Dispose();
            BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
        }

        if (!KernelMapBackend.IsMapDescriptor(fd))
        {
            fd.Dispose();
            throw new BpfException(Errno.EINVAL, BpfCommand.BPF_OBJ_GET_INFO_BY_FD, "the descriptor is a BPF object but not a map");
        }

        return new BpfMap(new KernelMapBackend(fd, KernelMapBackend.ToInfo(native)));
    }

    /// <summary>Opens the map pinned at <paramref name="path"/> (BPF_OBJ_GET, Linux 4.4).</summary>
    /// <param name="path">A path on a bpffs mount.</param>
    /// <returns>The map.</returns>
    /// <exception cref="BpfException">ENOENT: nothing pinned there; EPERM/EACCES: not allowed; or the pin is not a map.</exception>
    public static BpfMap OpenPinned(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] p = NulTerminated(path, nameof(path));
        int err = BpfSyscall.ObjGet(p, 0, out BpfFd fd);
        if (err != 0)
        {
            fd.Dispose();
            string? notAPin = err is Errno.EACCES or Errno.EPERM ? BpfFs.WhyNotAPin(path) : null;
            throw new BpfException(err, BpfCommand.BPF_OBJ_GET, notAPin ?? (BpfErrors.DefaultHint(err, BpfCommand.BPF_OBJ_GET) is { } hint ? $"{path}: {hint}" : path));
        }

        return FromOwnedFd(fd);
    }

    /// <summary>Opens the map with system-wide id <paramref name="id"/> (BPF_MAP_GET_FD_BY_ID, 4.13).</summary>
    /// <param name="id">The map id.</param>
    /// <returns>The map.</returns>
    /// <exception cref="BpfException">ENOENT: no such id; EPERM: needs CAP_SYS_ADMIN.</exception>
    public static BpfMap OpenById(uint id)
    {
        int err = BpfSyscall.MapGetFdById(id, 0, out BpfFd fd);
        if (err != 0)
        {
            fd.Dispose();
            throw new BpfException(err, BpfCommand.BPF_MAP_GET_FD_BY_ID, err == Errno.ENOENT ? $"no map with id {id}" : BpfErrors.DefaultHint(err, BpfCommand.BPF_MAP_GET_FD_BY_ID));
        }

        return FromOwnedFd(fd);
    }

    /// <summary>The ids of every map in the system, in ascending order (BPF_MAP_GET_NEXT_ID, Linux 4.13).</summary>
    /// <returns>The ids.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static List<uint> GetSystemMapIds()
    {
        var ids = new List<uint>();
        uint id = 0;
        while (true)
        {
            int err = BpfSyscall.MapGetNextId(id, out uint next);
            if (err == Errno.ENOENT)
            {
                return ids;
            }

            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_MAP_GET_NEXT_ID);
            }

            ids.Add(next);
            id = next;
        }
    }

    /// <summary>
    /// Info of every map in the system, as <c>bpftool map show</c> lists them. Maps that
    /// disappear while the list is built are skipped.
    /// </summary>
    /// <returns>The maps' info, by ascending id.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static List<MapInfo> ListSystemMaps()
    {
        var result = new List<MapInfo>();
        foreach (BpfMap map in OpenSystemMaps())
        {
            using (map)
            {
                result.Add(map.Info);
            }
        }

        return result;
    }

    /// <summary>
    /// Opens every map in the system, by ascending id (BPF_MAP_GET_NEXT_ID and BPF_MAP_GET_FD_BY_ID,
    /// Linux 4.13). Maps freed between the listing and their opening are skipped. The one walk over the
    /// system's maps: <see cref="ListSystemMaps"/> and the map selectors go through it.
    /// </summary>
    /// <returns>The maps, opened one at a time as the enumeration reaches them; the caller disposes each.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static IEnumerable<BpfMap> OpenSystemMaps()
    {
        foreach (uint id in GetSystemMapIds())
        {
            BpfMap map;
            try
            {
                map = OpenById(id);
            }
            catch (BpfException e) when (e.Errno == Errno.ENOENT && e.FailedCommand == BpfCommand.BPF_MAP_GET_FD_BY_ID)
            {
                continue; // freed between listing and opening
            }

            yield return map;
        }
    }

    /// <summary>Pins the map at <paramref name="path"/> on a bpffs mount (BPF_OBJ_PIN, Linux 4.4).</summary>
    /// <param name="path">The pin path.</param>
    /// <exception cref="NotSupportedException">The map has no kernel descriptor.</exception>
    /// <exception cref="BpfException">EEXIST: something is pinned there; EINVAL/EPERM: not a bpffs path.</exception>
    public void Pin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeHandle handle = Handle ?? throw new NotSupportedException("pinning needs a kernel map; in-process maps have no bpffs object");
        int err = BpfSyscall.ObjPin(handle, NulTerminated(path, nameof(path)));
        if (err != 0)
        {
            // ENOENT too: a parent that exists but is off bpffs (e.g. /proc) cannot create the entry.
            string? cannot = err is Errno.EPERM or Errno.EACCES or Errno.ENOENT ? BpfFs.WhyCannotPinAt(path) : null;
            throw new BpfException(err, BpfCommand.BPF_OBJ_PIN, cannot ?? $"{path}: {(err == Errno.EEXIST ? "something is already pinned there" : BpfErrors.DefaultHint(err, BpfCommand.BPF_OBJ_PIN))}");
        }
    }

    /// <summary>Makes the map read-only for syscalls (BPF_MAP_FREEZE, 5.2). Programs can still write it.</summary>
    /// <exception cref="BpfException">EBUSY: the map is memory-mapped writable (<see cref="OpenMemory"/>) or a syscall
    /// write is in flight; EPERM: already frozen.</exception>
    public void Freeze()
    {
        int err = _backend.Freeze();
        if (err == Errno.EBUSY && IsMmapable)
        {
            throw new BpfException(err, BpfCommand.BPF_MAP_FREEZE, "the map has a writable memory mapping (OpenMemory(writable: true)); dispose it, or map read-only, before freezing");
        }

        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_MAP_FREEZE, Type);
        }
    }

    /// <summary>
    /// Whether the map is frozen (BPF_MAP_FREEZE, 5.2): read-only for syscalls, so updates, deletes and
    /// drains from userspace fail with EPERM while BPF programs can still write it. Read from the
    /// descriptor's fdinfo for kernel maps, from the engine for in-process maps.
    /// </summary>
    /// <returns>True when frozen.</returns>
    public bool IsFrozen()
    {
        if (Handle is not BpfFd fd)
        {
            return _backend.IsFrozen;
        }

        try
        {
            foreach (string line in File.ReadLines($"/proc/self/fdinfo/{fd.Value}"))
            {
                if (line.StartsWith("frozen:", StringComparison.Ordinal))
                {
                    return line.AsSpan(7).Trim().SequenceEqual("1");
                }
            }
        }
        catch (IOException)
        {
        }

        return false;
    }

    /// <summary>Reads the map's current info from the backend (BPF_OBJ_GET_INFO_BY_FD, Linux 4.13).</summary>
    /// <returns>The info.</returns>
    public MapInfo GetInfo()
    {
        if (Handle is { } h)
        {
            int err = BpfSyscall.MapGetInfo(h, out MapInfoFields native);
            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
            }

            return KernelMapBackend.ToInfo(native);
        }

        return _backend.Info;
    }

    /// <summary>Creates a batch cursor bound to this map, at the start.</summary>
    /// <returns>A cursor of <c>max(KeySize, 4)</c> bytes.</returns>
    public BatchCursor CreateCursor() => new(this, KeySize);

    /// <summary>Closes the map's descriptor.</summary>
    public void Dispose() => _backend.Dispose();

    /// <summary>The UTF-8 bytes of <paramref name="s"/> and a closing NUL, for the kernel's C strings.</summary>
    /// <exception cref="ArgumentException"><paramref name="s"/> holds a NUL, where the kernel would cut it short.</exception>
    internal static byte[] NulTerminated(string s, string paramName)
    {
        BpfErrors.ThrowIfContainsNul(s, paramName);
        byte[] b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type.KernelName()} map '{Name}' (id {Id}, key {KeySize}, value {ValueSize}, max {MaxEntries})";
}
