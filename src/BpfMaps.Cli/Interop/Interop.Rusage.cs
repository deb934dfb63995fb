using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>getrusage, for the CPU time bench's child processes used.</summary>
internal static partial class Rusage
{
    /// <summary>RUSAGE_CHILDREN: every child that has been waited for.</summary>
    public const int Children = -1;

    /// <summary>getrusage(who, usage).</summary>
    /// <param name="who">Whose usage.</param>
    /// <param name="usage">The usage; only the two times are read.</param>
    /// <returns>0, or -1 with errno set.</returns>
    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    public static partial int Call(int who, out Usage usage);

    /// <summary>The start of <c>struct rusage</c> on 64-bit Linux (144 bytes in all): user time, then system time.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    public struct Usage
    {
        /// <summary>ru_utime.tv_sec.</summary>
        public long UserSeconds;

        /// <summary>ru_utime.tv_usec.</summary>
        public long UserMicroseconds;

        /// <summary>ru_stime.tv_sec.</summary>
        public long SystemSeconds;

        /// <summary>ru_stime.tv_usec.</summary>
        public long SystemMicroseconds;

        /// <summary>User plus system time, in seconds.</summary>
        public readonly double Total => UserSeconds + SystemSeconds + ((UserMicroseconds + SystemMicroseconds) / 1e6);
    }
}
