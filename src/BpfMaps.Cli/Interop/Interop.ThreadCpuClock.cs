using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>
/// clock_gettime(CLOCK_THREAD_CPUTIME_ID), for the lookup bench: the calling thread's CPU time to the
/// nanosecond. getrusage(RUSAGE_THREAD) counts in scheduler ticks (4 ms at HZ=250), far coarser than a
/// round of lookups.
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    /// <summary>The calling thread's CPU time, in seconds, or NaN when the clock cannot be read.</summary>
    /// <returns>Seconds.</returns>
    public static double Seconds() => ClockGettime(ClockThreadCpuTimeId, out TimeSpec t) == 0 ? t.Seconds + (t.Nanoseconds / 1e9) : double.NaN;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGettime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
