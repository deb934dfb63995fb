using System.Globalization;

namespace BpfMaps.Cli.Inspection;

/// <summary>A process that holds a descriptor of a BPF object (bpftool's <c>pids</c>).</summary>
/// <param name="Pid">The process id.</param>
/// <param name="Comm">The process name from <c>/proc/PID/comm</c>.</param>
internal sealed record ObjectHolder(int Pid, string Comm);

/// <summary>
/// Finds the processes that hold map or BTF descriptors, by reading <c>/proc/PID/fd</c> links
/// (<c>anon_inode:bpf-map</c>, <c>anon_inode:btf</c>) and their fdinfo <c>map_id:</c>/<c>btf_id:</c> lines.
/// Our own process is left out, as bpftool leaves itself out: the tool's own descriptor says nothing
/// about who uses the object.
/// </summary>
internal static class ProcessScan
{
    /// <summary>Map id to the processes holding it (each process once, by ascending pid).</summary>
    /// <returns>The holders.</returns>
    public static Dictionary<uint, List<ObjectHolder>> MapHolders() => Holders("anon_inode:bpf-map", "map_id:");

    /// <summary>BTF id to the processes holding a descriptor of that BTF object (each process once, by ascending pid).</summary>
    /// <returns>The holders.</returns>
    public static Dictionary<uint, List<ObjectHolder>> BtfHolders() => Holders("anon_inode:btf", "btf_id:");

    private static Dictionary<uint, List<ObjectHolder>> Holders(string linkTarget, string idField)
    {
        var result = new Dictionary<uint, List<ObjectHolder>>();
        int self = Environment.ProcessId;
        string[] procs;
        try
        {
            procs = Directory.GetDirectories("/proc");
        }
        catch (IOException)
        {
            return result;
        }

        var pids = new List<int>();
        foreach (string dir in procs)
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid != self)
            {
                pids.Add(pid);
            }
        }

        pids.Sort();
        foreach (int pid in pids)
        {
            ScanProcess(pid, linkTarget, idField, result);
        }

        return result;
    }

    private static void ScanProcess(int pid, string linkTarget, string idField, Dictionary<uint, List<ObjectHolder>> result)
    {
        string fdDir = $"/proc/{pid}/fd";
        string? comm = null;
        Span<byte> target = stackalloc byte[64];
        Span<byte> want = stackalloc byte[linkTarget.Length];
        System.Text.Encoding.ASCII.GetBytes(linkTarget, want);
        Span<byte> path = stackalloc byte[256];
        try
        {
            foreach (string fd in Directory.EnumerateFileSystemEntries(fdDir))
            {
                // Most descriptors are files, sockets and pipes: one readlink each decides, with no allocation.
                if (!LinkTargetIs(fd, path, target, want))
                {
                    continue;
                }

                uint id = ReadId($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}", idField);
                if (id == 0)
                {
                    continue;
                }

                comm ??= ReadComm(pid);
                if (!result.TryGetValue(id, out var list))
                {
                    result[id] = list = [];
                }

                if (list.Count == 0 || list[^1].Pid != pid)
                {
                    list.Add(new ObjectHolder(pid, comm));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process exited, or its fds are not ours to read.
        }
    }

    private static unsafe bool LinkTargetIs(string link, Span<byte> path, Span<byte> target, ReadOnlySpan<byte> want)
    {
        // "/proc/PID/fd/N" is short; a longer name is not a descriptor link.
        if (System.Text.Encoding.UTF8.GetMaxByteCount(link.Length) >= path.Length)
        {
            return false;
        }

        int n = System.Text.Encoding.UTF8.GetBytes(link, path);
        path[n] = 0;
        nint got;
        fixed (byte* p = path)
        fixed (byte* b = target)
        {
            got = Interop.Readlink.Call(p, b, target.Length);
        }

        return got == want.Length && target[..want.Length].SequenceEqual(want);
    }

    private static uint ReadId(string fdinfo, string idField)
    {
        try
        {
            foreach (string line in File.ReadLines(fdinfo))
            {
                if (MapDetails.TryField(line, idField, out long id))
                {
                    return (uint)id;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    private static string ReadComm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
