using System.Runtime.InteropServices;
using System.Text;
using BpfMaps.Interop;

namespace BpfMaps.Kernel;

/// <summary>What BPF_MAP_CREATE is given, in the kernel's units (the attr struct stays inside the raw tier).</summary>
/// <param name="Type">map_type.</param>
/// <param name="KeySize">key_size.</param>
/// <param name="ValueSize">value_size.</param>
/// <param name="MaxEntries">max_entries.</param>
/// <param name="Flags">map_flags.</param>
/// <param name="Name">map_name (ASCII, at most 15 characters), or null.</param>
/// <param name="NumaNode">numa_node.</param>
/// <param name="BtfKeyTypeId">btf_key_type_id.</param>
/// <param name="BtfValueTypeId">btf_value_type_id.</param>
/// <param name="BtfVmlinuxValueTypeId">btf_vmlinux_value_type_id.</param>
/// <param name="MapExtra">map_extra.</param>
internal readonly record struct MapCreateArgs(uint Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags, string? Name,
    uint NumaNode, uint BtfKeyTypeId, uint BtfValueTypeId, uint BtfVmlinuxValueTypeId, ulong MapExtra);

/// <summary>The fields of <c>struct bpf_map_info</c> the library reads, the name decoded.</summary>
internal readonly record struct MapInfoFields(uint Type, uint Id, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags, string Name,
    uint BtfId, uint BtfKeyTypeId, uint BtfValueTypeId, uint Ifindex, ulong MapExtra, uint BtfVmlinuxValueTypeId);

/// <summary>The fields of <c>struct bpf_prog_info</c> the library reads, the name decoded.</summary>
internal readonly record struct ProgInfoFields(uint Type, uint Id, string Name, uint BtfId, uint MapIdCount);

/// <summary>The fields of <c>struct bpf_btf_info</c>: sizes, id and whether it is kernel BTF.</summary>
internal readonly record struct BtfInfoFields(uint Id, uint BtfSize, uint NameLength, bool IsKernel);

/// <summary>The outcome of one BPF_PROG_TEST_RUN.</summary>
internal readonly record struct TestRunFields(uint ReturnValue, uint DurationNs, uint DataSizeOut);

/// <summary>
/// The typed entry points of the raw tier: every attr and info struct is built and read here, so the
/// tiers above pass values and spans, never an <c>Interop</c> struct.
/// </summary>
internal static unsafe partial class BpfSyscall
{
    /// <summary>BPF_MAP_CREATE from typed arguments.</summary>
    /// <param name="args">What to create.</param>
    /// <param name="innerMap">Template inner map for map-in-map types, or null.</param>
    /// <param name="btf">BTF object describing key/value types, or null.</param>
    /// <param name="fd">The new map on success; an invalid handle otherwise.</param>
    /// <returns>0 or errno.</returns>
    internal static int MapCreate(in MapCreateArgs args, SafeHandle? innerMap, SafeHandle? btf, out BpfFd fd)
    {
        var attr = new MapCreateAttr
        {
            map_type = args.Type,
            key_size = args.KeySize,
            value_size = args.ValueSize,
            max_entries = args.MaxEntries,
            map_flags = args.Flags,
            numa_node = args.NumaNode,
            btf_key_type_id = args.BtfKeyTypeId,
            btf_value_type_id = args.BtfValueTypeId,
            btf_vmlinux_value_type_id = args.BtfVmlinuxValueTypeId,
            map_extra = args.MapExtra,
        };
        if (args.Name is { Length: > 0 } name)
        {
            Encoding.ASCII.GetBytes(name, new Span<byte>(attr.map_name, 15));
        }

        return MapCreate(ref attr, innerMap, btf, out fd);
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD on a map (4.13).</summary>
    /// <param name="map">The map.</param>
    /// <param name="info">The info the kernel wrote.</param>
    /// <returns>0 or errno (EINVAL for a descriptor that is not a BPF object).</returns>
    internal static int MapGetInfo(SafeHandle map, out MapInfoFields info)
    {
        BpfMapInfoNative n = default;
        Span<byte> buf = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref n, 1));
        int err = ObjGetInfoByFd(map, buf, out _);
        info = err != 0 ? default : new MapInfoFields(n.type, n.id, n.key_size, n.value_size, n.max_entries, n.map_flags,
            CString(n.name, 16, Encoding.ASCII), n.btf_id, n.btf_key_type_id, n.btf_value_type_id, n.ifindex, n.map_extra, n.btf_vmlinux_value_type_id);
        return err;
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD on a program (4.13): counts and scalars only, no arrays.</summary>
    /// <param name="prog">The program.</param>
    /// <param name="info">The info the kernel wrote.</param>
    /// <returns>0 or errno (EINVAL for a descriptor that is not a program).</returns>
    internal static int ProgGetInfo(SafeHandle prog, out ProgInfoFields info)
    {
        BpfProgInfoNative n = default;
        Span<byte> buf = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref n, 1));
        int err = ObjGetInfoByFd(prog, buf, out _);
        info = err != 0 ? default : new ProgInfoFields(n.type, n.id, CString(n.name, 16, Encoding.UTF8), n.btf_id, n.nr_map_ids);
        return err;
    }

    /// <summary>
    /// BPF_PROG_LOAD from typed arguments. <paramref name="instructions"/> holds the 8-byte instruction
    /// slots; <paramref name="license"/> and the log buffer are the caller's, as the kernel reads and writes them.
    /// </summary>
    /// <param name="type">prog_type.</param>
    /// <param name="instructions">The instruction slots as bytes (a multiple of 8).</param>
    /// <param name="license">NUL-terminated license.</param>
    /// <param name="name">prog_name (ASCII, at most 15 characters), or null.</param>
    /// <param name="expectedAttachType">expected_attach_type.</param>
    /// <param name="logLevel">log_level; 0 for no log.</param>
    /// <param name="log">The verifier log buffer, or empty.</param>
    /// <param name="funcBtf">The BTF object behind <paramref name="funcInfo"/>, or null.</param>
    /// <param name="funcInfoRecordSize">func_info_rec_size.</param>
    /// <param name="funcInfo">func_info records (insn_off, type_id pairs), or empty.</param>
    /// <param name="fd">The loaded program on success; an invalid handle otherwise.</param>
    /// <returns>0 or errno.</returns>
    internal static int ProgLoad(uint type, ReadOnlySpan<byte> instructions, ReadOnlySpan<byte> license, string? name, uint expectedAttachType,
        uint logLevel, Span<byte> log, SafeHandle? funcBtf, uint funcInfoRecordSize, ReadOnlySpan<uint> funcInfo, out BpfFd fd)
    {
        FdLease btfLease = default;
        try
        {
            fixed (byte* insns = instructions)
            fixed (byte* l = license)
            fixed (byte* logBuf = log)
            fixed (uint* fi = funcInfo)
            {
                var attr = new ProgLoadAttr
                {
                    prog_type = type,
                    insn_cnt = (uint)(instructions.Length / 8),
                    insns = (ulong)insns,
                    license = (ulong)l,
                    log_level = log.IsEmpty ? 0 : logLevel,
                    log_size = (uint)log.Length,
                    log_buf = log.IsEmpty ? 0 : (ulong)logBuf,
                    expected_attach_type = expectedAttachType,
                };
                if (funcBtf is not null)
                {
                    if (!FdLease.TryAcquire(funcBtf, out btfLease, out int btfFd))
                    {
                        fd = new BpfFd();
                        return Errno.EBADF;
                    }

                    attr.prog_btf_fd = (uint)btfFd;
                    attr.func_info_rec_size = funcInfoRecordSize;
                    attr.func_info = (ulong)fi;
                    attr.func_info_cnt = funcInfoRecordSize == 0 ? 0 : (uint)(funcInfo.Length * sizeof(uint) / funcInfoRecordSize);
                }

                if (name is { Length: > 0 })
                {
                    Encoding.ASCII.GetBytes(name, new Span<byte>(attr.prog_name, 15));
                }

                return ProgLoad(ref attr, out fd);
            }
        }
        finally
        {
            btfLease.Dispose();
        }
    }

    /// <summary>BPF_PROG_TEST_RUN (4.12) with packet data in and out.</summary>
    /// <param name="prog">The program.</param>
    /// <param name="dataIn">Packet bytes.</param>
    /// <param name="dataOut">Receives the packet after the last run; empty to skip.</param>
    /// <param name="repeat">Runs.</param>
    /// <param name="result">Return value, mean duration and output size when 0 is returned.</param>
    /// <returns>0 or errno.</returns>
    internal static int ProgTestRun(SafeHandle prog, ReadOnlySpan<byte> dataIn, Span<byte> dataOut, uint repeat, out TestRunFields result)
    {
        result = default;
        fixed (byte* din = dataIn)
        fixed (byte* dout = dataOut)
        {
            var attr = new TestRunAttr
            {
                data_size_in = (uint)dataIn.Length,
                data_in = (ulong)din,
                data_size_out = (uint)dataOut.Length,
                data_out = dataOut.IsEmpty ? 0 : (ulong)dout,
                repeat = repeat,
            };
            int err = ProgTestRun(prog, ref attr);
            if (err == 0)
            {
                result = new TestRunFields(attr.retval, attr.duration, attr.data_size_out);
            }

            return err;
        }
    }

    /// <summary>BPF_BTF_LOAD (4.18) of a raw blob, with the kernel's log written into <paramref name="log"/>.</summary>
    /// <param name="blob">The BTF bytes.</param>
    /// <param name="log">The log buffer, or empty for none.</param>
    /// <param name="logLevel">btf_log_level when a log buffer is given.</param>
    /// <param name="fd">The BTF object on success; an invalid handle otherwise.</param>
    /// <returns>0 or errno.</returns>
    internal static int BtfLoad(ReadOnlySpan<byte> blob, Span<byte> log, uint logLevel, out BpfFd fd)
    {
        fixed (byte* b = blob)
        fixed (byte* l = log)
        {
            var attr = new BtfLoadAttr
            {
                btf = (ulong)b,
                btf_size = (uint)blob.Length,
                btf_log_buf = log.IsEmpty ? 0 : (ulong)l,
                btf_log_size = (uint)log.Length,
                btf_log_level = log.IsEmpty ? 0 : logLevel,
            };
            return BtfLoad(ref attr, out fd);
        }
    }

    /// <summary>
    /// BPF_OBJ_GET_INFO_BY_FD on a BTF object. With an empty <paramref name="data"/> and <paramref name="name"/>
    /// it only reports the sizes; called again with buffers of those sizes, it copies the raw BTF and the name.
    /// </summary>
    /// <param name="btf">The BTF object.</param>
    /// <param name="data">Receives the raw BTF (btf_size bytes), or empty.</param>
    /// <param name="name">Receives the NUL-terminated name, or empty.</param>
    /// <param name="info">Sizes, id, whether it is kernel BTF.</param>
    /// <returns>0 or errno (ENOSPC when a buffer is too small).</returns>
    internal static int BtfGetInfo(SafeHandle btf, Span<byte> data, Span<byte> name, out BtfInfoFields info)
    {
        int err = BtfGetInfo(btf, data, name, out BpfBtfInfoNative n);
        info = new BtfInfoFields(n.id, n.btf_size, n.name_len, n.kernel_btf != 0);
        return err;
    }

    /// <summary>dup(2) of a descriptor held by <paramref name="obj"/>, as a new owned <see cref="BpfFd"/>.</summary>
    /// <param name="obj">The descriptor to copy.</param>
    /// <param name="copy">The copy on success; null otherwise.</param>
    /// <returns>0 or errno.</returns>
    internal static int Dup(SafeHandle obj, out BpfFd? copy)
    {
        copy = null;
        if (!FdLease.TryAcquire(obj, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            int dup = Interop.Interop.Dup(fd);
            if (dup < 0)
            {
                return Marshal.GetLastSystemError();
            }

            copy = new BpfFd(dup);
            return 0;
        }
    }

    private static string CString(byte* p, int capacity, Encoding encoding)
    {
        var span = new ReadOnlySpan<byte>(p, capacity);
        int len = span.IndexOf((byte)0);
        return encoding.GetString(len < 0 ? span : span[..len]);
    }
}

/// <summary>File-system queries the public tier makes (statfs, statx), with the structs kept here.</summary>
internal static class FileSystemSyscall
{
    /// <summary>Whether <paramref name="path"/> lies on a bpffs mount, or null when statfs fails.</summary>
    /// <param name="path">An existing path (no NUL).</param>
    /// <returns>The answer, or null.</returns>
    internal static bool? IsOnBpfFs(string path)
        => Statfs.Call(path, out Statfs.StatfsBuffer buf) == 0 ? (buf.Type & 0xffffffffL) == Statfs.BpfFsMagic : null;

    /// <summary>The file type bits (S_IFMT of st_mode) of <paramref name="path"/> from statx, or null when statx fails.</summary>
    /// <param name="path">The path (no NUL).</param>
    /// <returns>The mode's S_IFMT bits, or null.</returns>
    internal static int? FileType(string path)
        => Statx.Call(Statx.AtFdCwd, path, 0, Statx.StatxType, out Statx.StatxBuffer buf) == 0 ? buf.Mode & 0xf000 : null;

    /// <summary>
    /// Maps the whole of a file read-only and private for the rest of the process, or returns null when
    /// it cannot be mapped. Only for files whose bytes never change while the system runs (the
    /// kernel's own BTF): the mapping is never undone, so spans over it stay valid.
    /// </summary>
    /// <param name="handle">The open file.</param>
    /// <param name="length">Its length.</param>
    /// <returns>The mapped bytes, or null.</returns>
    internal static unsafe ReadOnlyMemory<byte>? MapForever(SafeHandle handle, long length)
    {
        if (length <= 0 || length > int.MaxValue)
        {
            return null;
        }

        nint map = Mman.Mmap(0, (nuint)length, Mman.ProtRead, Mman.MapPrivate, (int)handle.DangerousGetHandle(), 0);
        return map == Mman.MapFailed ? null : new PermanentMapping((byte*)map, (int)length).Memory;
    }

    /// <summary>Memory over a mapping that lives as long as the process; nothing unmaps it.</summary>
    private sealed unsafe class PermanentMapping(byte* start, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(start, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)length, nameof(elementIndex));
            return new System.Buffers.MemoryHandle(start + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
