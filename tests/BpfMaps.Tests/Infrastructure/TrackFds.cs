using System.Runtime.CompilerServices;

namespace BpfMaps.Tests.Infrastructure;

internal static class TrackFds
{
    /// <summary>Test builds record where every descriptor was created, so a leak names its origin.</summary>
    [ModuleInitializer]
    internal static void Init() => Environment.SetEnvironmentVariable("BPFMAPS_TRACK_FDS", "1");

    /// <summary>Descriptors of BPF objects this process holds, from /proc/self/fd.</summary>
    public static int OpenBpfFds()
    {
        int n = 0;
        foreach (string fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            try
            {
                string? target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith("anon_inode:bpf", StringComparison.Ordinal))
                {
                    n++;
                }
            }
            catch (IOException)
            {
            }
        }

        return n;
    }
}
