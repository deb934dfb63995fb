using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>The one P/Invoke into libc for the <c>bpf()</c> system call.</summary>
internal static unsafe partial class Interop
{
    /// <summary>
    /// The <c>bpf</c> syscall number differs per architecture; glibc has no wrapper,
    /// so the call goes through <c>syscall(2)</c>.
    /// </summary>
    internal static readonly long SysBpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.X86 => 357,
        Architecture.Arm => 386,
        Architecture.RiscV64 => 280,
        Architecture.LoongArch64 => 280,
        _ => -1,
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallBpf(long number, int cmd, void* attr, uint size);

    /// <summary>Calls <c>bpf(cmd, attr, size)</c>; returns the result or -1 with errno in <paramref name="errno"/>.</summary>
    internal static long Bpf(BpfCommand cmd, void* attr, uint size, out int errno)
    {
        long ret = SyscallBpf(SysBpf, (int)cmd, attr, size);
        errno = ret < 0 ? Marshal.GetLastSystemError() : 0;
        return ret;
    }

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    internal static partial int Dup(int fd);
}
