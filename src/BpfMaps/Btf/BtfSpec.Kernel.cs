using System.Text;
using BpfMaps.Kernel;

namespace BpfMaps.Btf;

public sealed partial class BtfSpec
{
    /// <summary>Where the kernel publishes its own BTF, and its modules' beside it.</summary>
    public const string KernelBtfDirectory = "/sys/kernel/btf";

    private static readonly string VmlinuxPath = Path.Combine(KernelBtfDirectory, "vmlinux");
    private static readonly Lock s_vmlinuxLock = new();
    private static BtfSpec? s_vmlinux;

    // vmlinux mapped for the rest of the process; 0 not tried yet, 1 mapped, -1 the kernel refused.
    private static int s_vmlinuxMapState;
    private static ReadOnlyMemory<byte> s_vmlinuxMapping;

    /// <summary>Parses the running kernel's BTF, <c>/sys/kernel/btf/vmlinux</c> (Linux 5.4, CONFIG_DEBUG_INFO_BTF).</summary>
    /// <returns>The kernel's BTF.</returns>
    /// <exception cref="IOException">The file is missing (a kernel without BTF) or unreadable.</exception>
    /// <exception cref="BtfException">The file is not valid BTF.</exception>
    /// <remarks>
    /// Where the kernel allows it (Linux 6.16), the file is mapped read-only once per process and parsed
    /// in place: the kernel's BTF cannot change while it runs, so every call parses the same pages, and
    /// nothing is copied. Older kernels refuse the mapping, and the file is read on each call.
    /// </remarks>
    public static BtfSpec LoadVmlinux() => ParseCore(ReadKernelFile(VmlinuxPath), null);

    /// <summary><see cref="LoadVmlinux()"/>, or with read() in place of the mapping, as on kernels before 6.16 (for the benchmarks).</summary>
    internal static BtfSpec LoadVmlinux(bool allowMap) => ParseCore(ReadKernelFile(VmlinuxPath, allowMap), null);

    /// <summary>
    /// Parses a kernel module's BTF, <c>/sys/kernel/btf/MODULE</c> (Linux 5.11), as split BTF on top of vmlinux.
    /// </summary>
    /// <param name="module">The module name, as in /sys/kernel/btf.</param>
    /// <param name="vmlinux">The kernel's BTF, or null to read it.</param>
    /// <returns>The module's BTF.</returns>
    /// <exception cref="ArgumentException">The name is not a plain file name.</exception>
    /// <exception cref="IOException">No such module BTF.</exception>
    /// <exception cref="BtfException">The file is not valid BTF.</exception>
    public static BtfSpec LoadKernelModule(string module, BtfSpec? vmlinux = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(module);
        if (module.Contains('/', StringComparison.Ordinal) || module is "." or ".." || module.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{module}' is not a module name", nameof(module));
        }

        return ParseCore(ReadKernelFile(Path.Combine(KernelBtfDirectory, module)), vmlinux ?? CachedVmlinux());
    }

    /// <summary>
    /// Reads the BTF object with system-wide id <paramref name="id"/> from the kernel (BPF_BTF_GET_FD_BY_ID, Linux 5.0,
    /// then BPF_OBJ_GET_INFO_BY_FD for its bytes). A module's BTF is parsed on top of vmlinux.
    /// </summary>
    /// <param name="id">The BTF id, for example a map's <see cref="MapInfo.BtfId"/>.</param>
    /// <returns>The parsed BTF.</returns>
    /// <exception cref="BpfException">ENOENT: no such id; EPERM: needs CAP_SYS_ADMIN.</exception>
    /// <exception cref="BtfException">The kernel's bytes are not valid BTF.</exception>
    public static BtfSpec LoadById(uint id)
    {
        int err = BpfSyscall.BtfGetFdById(id, out BpfFd fd);
        using (fd)
        {
            if (err != 0)
            {
                throw new BpfException(err, BpfCommand.BPF_BTF_GET_FD_BY_ID, err == Errno.ENOENT ? $"no BTF object with id {id}" : BpfErrors.DefaultHint(err, BpfCommand.BPF_BTF_GET_FD_BY_ID));
            }

            return Load(fd);
        }
    }

    /// <summary>Reads the BTF of an open BTF object (BPF_OBJ_GET_INFO_BY_FD, Linux 5.0).</summary>
    /// <param name="btf">A BTF object's descriptor.</param>
    /// <returns>The parsed BTF.</returns>
    /// <exception cref="BpfException">The descriptor is not a BTF object, or closed.</exception>
    /// <exception cref="BtfException">The kernel's bytes are not valid BTF.</exception>
    public static BtfSpec Load(BpfFd btf)
    {
        ArgumentNullException.ThrowIfNull(btf);
        BtfObjectInfo info = ReadInfo(btf, out byte[] data);
        BtfSpec? baseSpec = info.IsKernel && info.Name != "vmlinux" ? CachedVmlinux() : null;
        return ParseCore(data, baseSpec);
    }

    /// <summary>What the kernel says about the BTF object with id <paramref name="id"/>: size, name, whether it is the kernel's.</summary>
    /// <param name="id">The BTF id.</param>
    /// <returns>The info.</returns>
    /// <exception cref="BpfException">ENOENT: no such id; EPERM without privileges.</exception>
    public static BtfObjectInfo GetInfo(uint id)
    {
        int err = BpfSyscall.BtfGetFdById(id, out BpfFd fd);
        using (fd)
        {
            if (err != 0)
            {
                throw new BpfException(err, BpfCommand.BPF_BTF_GET_FD_BY_ID, err == Errno.ENOENT ? $"no BTF object with id {id}" : BpfErrors.DefaultHint(err, BpfCommand.BPF_BTF_GET_FD_BY_ID));
            }

            return ReadInfo(fd, out _, withData: false);
        }
    }

    /// <summary>The ids of every BTF object in the system, ascending (BPF_BTF_GET_NEXT_ID, Linux 5.4).</summary>
    /// <returns>The ids.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static List<uint> GetSystemBtfIds()
    {
        var ids = new List<uint>();
        uint id = 0;
        while (true)
        {
            int err = BpfSyscall.BtfGetNextId(id, out uint next);
            if (err == Errno.ENOENT)
            {
                return ids;
            }

            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_BTF_GET_NEXT_ID);
            }

            ids.Add(next);
            id = next;
        }
    }

    internal static BtfSpec CachedVmlinux()
    {
        lock (s_vmlinuxLock)
        {
            return s_vmlinux ??= LoadVmlinux();
        }
    }

    /// <summary>
    /// A file of <see cref="KernelBtfDirectory"/>. sysfs hands these out a page per read(), so vmlinux
    /// (about 5 MB: over a thousand reads) is mapped where the kernel allows it (read-only private
    /// mappings of vmlinux, Linux 6.16). The mapping is made once and kept: the kernel's own BTF does not
    /// change while it runs, so the bytes under every span stay the same. Module files, which can be
    /// unloaded and loaded again with other contents, and vmlinux on older kernels, are read.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="allowMap">Whether vmlinux may be mapped (the benchmark turns it off to time read()).</param>
    /// <returns>The bytes.</returns>
    internal static ReadOnlyMemory<byte> ReadKernelFile(string path, bool allowMap = true)
    {
        if (allowMap && path == VmlinuxPath && VmlinuxMapping() is { } mapped)
        {
            return mapped;
        }

        return ReadFile(path);
    }

    /// <summary>Whether vmlinux is mapped for this process (Linux 6.16 and later), so that every vmlinux spec parses the same pages.</summary>
    internal static bool VmlinuxIsMapped => VmlinuxMapping() is not null;

    private static ReadOnlyMemory<byte>? VmlinuxMapping()
    {
        if (Volatile.Read(ref s_vmlinuxMapState) == 0)
        {
            lock (s_vmlinuxLock)
            {
                if (s_vmlinuxMapState == 0)
                {
                    using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(VmlinuxPath);
                    if (FileSystemSyscall.MapForever(handle, RandomAccess.GetLength(handle)) is { } mapping)
                    {
                        s_vmlinuxMapping = mapping;
                        Volatile.Write(ref s_vmlinuxMapState, 1);
                    }
                    else
                    {
                        Volatile.Write(ref s_vmlinuxMapState, -1);
                    }
                }
            }
        }

        return s_vmlinuxMapState == 1 ? s_vmlinuxMapping : null;
    }

    private static BtfObjectInfo ReadInfo(BpfFd fd, out byte[] data, bool withData = true)
    {
        data = [];
        // The first call asks for the sizes; the BTF can only grow between calls if the id was reused,
        // which the second call's ENOSPC reports.
        int err = BpfSyscall.BtfGetInfo(fd, default, default, out BtfInfoFields sizes);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
        }

        if (sizes.BtfSize == 0 && sizes.Id == 0)
        {
            throw new BpfException(Errno.EINVAL, BpfCommand.BPF_OBJ_GET_INFO_BY_FD, "the descriptor is not a BTF object");
        }

        byte[] name = new byte[Math.Max(sizes.NameLength + 1, 1)];
        data = withData ? new byte[sizes.BtfSize] : [];
        err = BpfSyscall.BtfGetInfo(fd, data, name, out BtfInfoFields info);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
        }

        int len = Array.IndexOf(name, (byte)0);
        return new BtfObjectInfo(info.Id, Encoding.UTF8.GetString(name, 0, len < 0 ? name.Length : len), (int)sizes.BtfSize, info.IsKernel);
    }
}

/// <summary>What the kernel reports about a BTF object (<c>struct bpf_btf_info</c>).</summary>
/// <param name="Id">The BTF id.</param>
/// <param name="Name">The name: <c>vmlinux</c> or a module's for kernel BTF; empty otherwise.</param>
/// <param name="Size">Bytes of raw BTF.</param>
/// <param name="IsKernel">Whether it is the kernel's or a module's BTF.</param>
public sealed record BtfObjectInfo(uint Id, string Name, int Size, bool IsKernel);
