using System.Runtime.InteropServices;
using BpfMaps.Interop;

namespace BpfMaps.Kernel;

/// <summary>
/// The raw tier over perf events: perf_event_open and the ioctls that enable, disable and pause one. Kernel
/// names, errno returns, no exceptions, nothing allocated beyond the handle object. Every descriptor passed in is
/// held for the call.
/// </summary>
internal static unsafe class PerfEventSyscall
{
    /// <summary>Whether this architecture has a known perf_event_open syscall number.</summary>
    public static bool IsArchitectureSupported => PerfEvent.SysPerfEventOpen > 0 && OperatingSystem.IsLinux();

    /// <summary>
    /// perf_event_open(attr, pid -1, cpu, group -1, PERF_FLAG_FD_CLOEXEC): an event that counts on one CPU for
    /// every task, which is what a perf event array slot holds. <c>attr.size</c> is set here.
    /// </summary>
    /// <param name="attr">The attributes.</param>
    /// <param name="cpu">The CPU.</param>
    /// <param name="handle">The event; invalid on failure.</param>
    /// <returns>0 or errno (ENODEV for an offline or absent CPU, EACCES/EPERM without CAP_PERFMON, EINVAL for attributes the kernel does not take).</returns>
    public static int PerfEventOpen(ref PerfEventAttr attr, int cpu, out PerfEventHandle handle)
    {
        handle = new PerfEventHandle();
        if (!IsArchitectureSupported)
        {
            return Errno.ENOSYS;
        }

        attr.size = (uint)sizeof(PerfEventAttr);
        int fd;
        fixed (PerfEventAttr* a = &attr)
        {
            fd = PerfEvent.Open(a, -1, cpu, -1, PerfEvent.FlagFdCloexec);
        }

        if (fd < 0)
        {
            return Marshal.GetLastSystemError();
        }

        handle.Adopt(fd);
        return 0;
    }

    /// <summary>PERF_EVENT_IOC_ENABLE: the event starts taking samples.</summary>
    /// <param name="handle">The event.</param>
    /// <returns>0 or errno.</returns>
    public static int Enable(PerfEventHandle handle) => Ioctl(handle, PerfEvent.IocEnable, 0);

    /// <summary>PERF_EVENT_IOC_DISABLE: the event stops; bpf_perf_event_output to it fails with EOPNOTSUPP and nothing is counted lost.</summary>
    /// <param name="handle">The event.</param>
    /// <returns>0 or errno.</returns>
    public static int Disable(PerfEventHandle handle) => Ioctl(handle, PerfEvent.IocDisable, 0);

    /// <summary>
    /// PERF_EVENT_IOC_PAUSE_OUTPUT (Linux 4.7): while paused, samples are not written; each is counted lost (and
    /// bpf_perf_event_output returns ENOSPC), and the count arrives as a PERF_RECORD_LOST once output resumes.
    /// </summary>
    /// <param name="handle">The event.</param>
    /// <param name="pause">True to pause, false to resume.</param>
    /// <returns>0 or errno.</returns>
    public static int PauseOutput(PerfEventHandle handle, bool pause) => Ioctl(handle, PerfEvent.IocPauseOutput, pause ? 1ul : 0ul);

    private static int Ioctl(PerfEventHandle handle, ulong request, ulong arg)
    {
        if (!FdLease.TryAcquire(handle, out var lease, out int fd))
        {
            return Errno.EBADF;
        }

        using (lease)
        {
            return PerfEvent.Ioctl(fd, request, arg) < 0 ? Marshal.GetLastSystemError() : 0;
        }
    }
}
