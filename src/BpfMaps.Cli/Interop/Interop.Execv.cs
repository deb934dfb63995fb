using System.Runtime.InteropServices;

namespace BpfMaps.Cli.Interop;

/// <summary>execv, for <c>bpfmap export</c>, which becomes the exporter executable in place.</summary>
internal static unsafe partial class Execv
{
    /// <summary>execv(path, argv): returns only on failure.</summary>
    /// <param name="path">A NUL-terminated UTF-8 path.</param>
    /// <param name="argv">NUL-terminated UTF-8 arguments, ending with a null pointer.</param>
    /// <returns>-1 with errno set (on success it does not return).</returns>
    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true)]
    public static partial int Call(byte* path, byte** argv);
}
