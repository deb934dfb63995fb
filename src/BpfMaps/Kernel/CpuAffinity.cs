using System.Runtime.InteropServices;

namespace BpfMaps.Kernel;

/// <summary>
/// Pins the calling thread to one CPU and puts its previous mask back, for running a program on a chosen
/// CPU: BPF_PROG_TEST_RUN runs packet programs on the CPU of the calling thread (its BPF_F_TEST_RUN_ON_CPU
/// flag is for raw tracepoints only). Raw tier: errno returns, nothing allocated.
/// </summary>
internal static unsafe class CpuAffinity
{
    /// <summary>Bytes of the CPU masks used here: 1024 CPUs, glibc's cpu_set_t.</summary>
    public const int MaskBytes = 128;

    /// <summary>sched_getaffinity(0): the calling thread's mask into <paramref name="mask"/> (<see cref="MaskBytes"/> bytes).</summary>
    /// <param name="mask">Receives the mask.</param>
    /// <returns>0 or errno.</returns>
    public static int Get(Span<byte> mask)
    {
        if (mask.Length < MaskBytes)
        {
            return Errno.EINVAL;
        }

        fixed (byte* m = mask)
        {
            return Interop.Sched.GetAffinity(0, MaskBytes, m) < 0 ? Marshal.GetLastSystemError() : 0;
        }
    }

    /// <summary>sched_setaffinity(0): sets the calling thread's mask.</summary>
    /// <param name="mask">The mask (<see cref="MaskBytes"/> bytes).</param>
    /// <returns>0 or errno (EINVAL when it names no CPU the thread may use).</returns>
    public static int Set(ReadOnlySpan<byte> mask)
    {
        if (mask.Length < MaskBytes)
        {
            return Errno.EINVAL;
        }

        fixed (byte* m = mask)
        {
            return Interop.Sched.SetAffinity(0, MaskBytes, m) < 0 ? Marshal.GetLastSystemError() : 0;
        }
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/> alone.</summary>
    /// <param name="cpu">The CPU number, below 1024.</param>
    /// <returns>0 or errno.</returns>
    public static int Pin(int cpu)
    {
        if ((uint)cpu >= MaskBytes * 8)
        {
            return Errno.EINVAL;
        }

        Span<byte> mask = stackalloc byte[MaskBytes];
        mask.Clear();
        mask[cpu / 8] = (byte)(1 << (cpu % 8));
        return Set(mask);
    }

    /// <summary>sched_getcpu(): where the calling thread runs now, or -1.</summary>
    public static int CurrentCpu => Interop.Sched.GetCpu();
}
