using System.Globalization;
using System.Runtime.InteropServices;

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

    private static unsafe Dictionary<uint, List<ObjectHolder>> Holders(string linkTarget, string idField)
    {
        var result = new Dictionary<uint, List<ObjectHolder>>();
        int self = Environment.ProcessId;
        var pids = new List<int>();
        nint proc;
        fixed (byte* p = "/proc\0"u8)
        {
            proc = Interop.Dirent.Open(p);
        }

        if (proc == 0)
        {
            return result;
        }

        try
        {
            byte* entry;
            while ((entry = Interop.Dirent.Read(proc)) != null)
            {
                // d_name ends at its NUL, inside the entry (d_reclen): read no further.
                ReadOnlySpan<byte> name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(entry + Interop.Dirent.NameOffset);
                if (name.Length > 0 && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid != self)
                {
                    pids.Add(pid);
                }
            }
        }
        finally
        {
            _ = Interop.Dirent.Close(proc);
        }

        pids.Sort();
        Span<byte> want = stackalloc byte[linkTarget.Length];
        System.Text.Encoding.ASCII.GetBytes(linkTarget, want);
        foreach (int pid in pids)
        {
            ScanProcess(pid, want, idField, result);
        }

        return result;
    }

    private static unsafe void ScanProcess(int pid, ReadOnlySpan<byte> want, string idField, Dictionary<uint, List<ObjectHolder>> result)
    {
        string? comm = null;
        Span<byte> target = stackalloc byte[64];

        // Each descriptor's link is read by name within the open /proc/PID/fd (readlinkat), so the kernel
        // does not walk /proc/PID/fd again for every one.
        Span<byte> path = stackalloc byte[32];
        int dirLength = System.Text.Encoding.ASCII.GetBytes($"/proc/{pid}/fd", path);
        path[dirLength] = 0;
        nint dir;
        fixed (byte* p = path)
        {
            dir = Interop.Dirent.Open(p);
        }

        if (dir == 0)
        {
            // The process exited, or its fds are not ours to read.
            return;
        }

        try
        {
            int dirFd = Interop.Dirent.Fd(dir);
            byte* entry;
            while ((entry = Interop.Dirent.Read(dir)) != null)
            {
                byte* name = entry + Interop.Dirent.NameOffset;
                if (name[0] == (byte)'.')
                {
                    continue;
                }

                nint got;
                fixed (byte* t = target)
                {
                    got = Interop.Readlink.At(dirFd, name, t, target.Length);
                }

                // Most descriptors are files, sockets and pipes: one readlinkat each decides, with no allocation.
                if (got != want.Length || !target[..want.Length].SequenceEqual(want))
                {
                    continue;
                }

                string fd = System.Text.Encoding.ASCII.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name));
                uint id = ReadId($"/proc/{pid}/fdinfo/{fd}", idField);
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
        finally
        {
            _ = Interop.Dirent.Close(dir);
        }
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
