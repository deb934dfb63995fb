using System.Globalization;

namespace BpfMaps.Cli.Inspection;

/// <summary>
/// Finds the processes that hold map descriptors, by reading <c>/proc/PID/fd</c> links
/// (<c>anon_inode:bpf-map</c>) and their fdinfo <c>map_id:</c> lines. Our own process is left out,
/// as bpftool leaves itself out: the tool's own descriptor says nothing about who uses the map.
/// </summary>
internal static class ProcessScan
{
    /// <summary>Map id to the processes holding it (each process once, by ascending pid).</summary>
    /// <returns>The holders.</returns>
    public static Dictionary<uint, List<MapHolder>> MapHolders()
    {
        var result = new Dictionary<uint, List<MapHolder>>();
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
            ScanProcess(pid, result);
        }

        return result;
    }

    private static void ScanProcess(int pid, Dictionary<uint, List<MapHolder>> result)
    {
        string fdDir = $"/proc/{pid}/fd";
        string? comm = null;
        try
        {
            foreach (string fd in Directory.EnumerateFileSystemEntries(fdDir))
            {
                string? target;
                try
                {
                    target = new FileInfo(fd).LinkTarget;
                }
                catch (IOException)
                {
                    continue;
                }

                if (target != "anon_inode:bpf-map")
                {
                    continue;
                }

                uint id = ReadMapId($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}");
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
                    list.Add(new MapHolder(pid, comm));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process exited, or its fds are not ours to read.
        }
    }

    private static uint ReadMapId(string fdinfo)
    {
        try
        {
            foreach (string line in File.ReadLines(fdinfo))
            {
                if (MapDetails.TryField(line, "map_id:", out long id))
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
