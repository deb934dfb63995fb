using System.Text;
using BpfMaps.Interop;
using BpfMaps.Kernel;

namespace BpfMaps.Btf;

public sealed partial class BtfSpec
{
    /// <summary>Where the kernel publishes its own BTF, and its modules' beside it.</summary>
    public const string KernelBtfDirectory = "/sys/kernel/btf";

    private static readonly Lock s_vmlinuxLock = new();
    private static BtfSpec? s_vmlinux;

    /// <summary>Parses the running kernel's BTF, <c>/sys/kernel/btf/vmlinux</c> (Linux 5.4, CONFIG_DEBUG_INFO_BTF).</summary>
    /// <returns>The kernel's BTF.</returns>
    /// <exception cref="IOException">The file is missing (a kernel without BTF) or unreadable.</exception>
    /// <exception cref="BtfException">The file is not valid BTF.</exception>
    public static BtfSpec LoadVmlinux() => ParseCore(ReadKernelFile(Path.Combine(KernelBtfDirectory, "vmlinux")), null);

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
    /// (about 5 MB: over a thousand reads) is mapped and copied in one go where the kernel allows it
    /// (read-only private mappings of vmlinux, Linux 6.16); otherwise, and for modules, it is read.
    /// The mapping is undone before returning, so nothing refers to it afterwards.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="allowMap">Whether to try mmap first (the benchmark turns it off to time read()).</param>
    /// <returns>The bytes.</returns>
    internal static unsafe byte[] ReadKernelFile(string path, bool allowMap = true)
    {
        if (allowMap)
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);
            long length = RandomAccess.GetLength(handle);
            if (length > 0 && length <= Array.MaxLength)
            {
                // The kernel refuses a mapping longer than its BTF, so every mapped page is backed.
                nint map = Mman.Mmap(0, (nuint)length, Mman.ProtRead, Mman.MapPrivate, (int)handle.DangerousGetHandle(), 0);
                if (map != Mman.MapFailed)
                {
                    try
                    {
                        byte[] blob = GC.AllocateUninitializedArray<byte>((int)length);
                        new ReadOnlySpan<byte>((void*)map, (int)length).CopyTo(blob);
                        return blob;
                    }
                    finally
                    {
                        _ = Mman.Munmap(map, (nuint)length);
                    }
                }
            }
        }

        return ReadFile(path);
    }

    private static BtfObjectInfo ReadInfo(BpfFd fd, out byte[] data, bool withData = true)
    {
        data = [];
        // The first call asks for the sizes; the BTF can only grow between calls if the id was reused,
        // which the second call's ENOSPC reports.
        int err = BpfSyscall.BtfGetInfo(fd, default, default, out BpfBtfInfoNative sizes);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
        }

        if (sizes.btf_size == 0 && sizes.id == 0)
        {
            throw new BpfException(Errno.EINVAL, BpfCommand.BPF_OBJ_GET_INFO_BY_FD, "the descriptor is not a BTF object");
        }

        byte[] name = new byte[Math.Max(sizes.name_len + 1, 1)];
        data = withData ? new byte[sizes.btf_size] : [];
        err = BpfSyscall.BtfGetInfo(fd, data, name, out BpfBtfInfoNative info);
        if (err != 0)
        {
            BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
        }

        int len = Array.IndexOf(name, (byte)0);
        return new BtfObjectInfo(info.id, Encoding.UTF8.GetString(name, 0, len < 0 ? name.Length : len), (int)sizes.btf_size, info.kernel_btf != 0);
    }
}

/// <summary>What the kernel reports about a BTF object (<c>struct bpf_btf_info</c>).</summary>
/// <param name="Id">The BTF id.</param>
/// <param name="Name">The name: <c>vmlinux</c> or a module's for kernel BTF; empty otherwise.</param>
/// <param name="Size">Bytes of raw BTF.</param>
/// <param name="IsKernel">Whether it is the kernel's or a module's BTF.</param>
public sealed record BtfObjectInfo(uint Id, string Name, int Size, bool IsKernel);
