using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

/// <summary>sched_setaffinity and sched_getaffinity: pinning the calling thread to a CPU.</summary>
internal static unsafe partial class Sched
{
    /// <summary>sched_getaffinity(0, size, mask): the calling thread's CPU mask; 0 or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    public static partial int GetAffinity(int pid, nuint size, byte* mask);

    /// <summary>sched_setaffinity(0, size, mask): pins the calling thread; 0 or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    public static partial int SetAffinity(int pid, nuint size, byte* mask);

    /// <summary>sched_getcpu(): the CPU the calling thread runs on, or -1.</summary>
    [LibraryImport("libc", EntryPoint = "sched_getcpu", SetLastError = true)]
    public static partial int GetCpu();
}
