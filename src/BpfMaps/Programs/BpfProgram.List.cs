using BpfMaps.Kernel;

namespace BpfMaps.Programs;

public sealed partial class BpfProgram
{
    /// <summary>The ids of every program in the system, ascending (BPF_PROG_GET_NEXT_ID, Linux 4.13).</summary>
    /// <returns>The ids.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static List<uint> GetSystemProgramIds()
    {
        var ids = new List<uint>();
        uint id = 0;
        while (true)
        {
            int err = BpfSyscall.ProgGetNextId(id, out uint next);
            if (err == Errno.ENOENT)
            {
                return ids;
            }

            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_PROG_GET_NEXT_ID);
            }

            ids.Add(next);
            id = next;
        }
    }

    /// <summary>
    /// Info of every program in the system (BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID and BPF_OBJ_GET_INFO_BY_FD,
    /// Linux 4.13), as <c>bpftool prog show</c> walks them. Programs freed while the list is built are skipped.
    /// </summary>
    /// <returns>The programs' info, by ascending id.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static List<ProgramInfo> ListSystemPrograms()
    {
        var result = new List<ProgramInfo>();
        foreach (uint id in GetSystemProgramIds())
        {
            if (OpenWithInfo(id, out ProgInfoFields native) is { } fd)
            {
                fd.Dispose();
                result.Add(ToInfo(native));
            }
        }

        return result;
    }

    /// <summary>
    /// Info of every program that uses map <paramref name="mapId"/> (its <c>map_ids</c> name the map; BPF_OBJ_GET_INFO_BY_FD,
    /// Linux 4.13), as bpftool finds a map's programs. Programs freed meanwhile are skipped.
    /// </summary>
    /// <param name="mapId">The map's id.</param>
    /// <returns>The programs' info, by ascending id.</returns>
    /// <exception cref="BpfException">EPERM without privileges.</exception>
    public static List<ProgramInfo> ListProgramsUsingMap(uint mapId)
    {
        var result = new List<ProgramInfo>();
        Span<uint> small = stackalloc uint[64];
        foreach (uint id in GetSystemProgramIds())
        {
            using BpfFd? fd = OpenWithInfo(id, out ProgInfoFields native);
            if (fd is not null)
            {
                Span<uint> ids = native.MapIdCount <= small.Length ? small[..(int)native.MapIdCount] : new uint[native.MapIdCount];
                int err = BpfSyscall.ProgGetMapIds(fd, ids, out uint count);
                if (err != 0)
                {
                    BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
                }

                if (ids[..(int)Math.Min(count, (uint)ids.Length)].Contains(mapId))
                {
                    result.Add(ToInfo(native));
                }
            }
        }

        return result;
    }

    /// <summary>Opens program <paramref name="id"/> and reads its info; null when it was freed since its id was listed.</summary>
    private static BpfFd? OpenWithInfo(uint id, out ProgInfoFields info)
    {
        info = default;
        int err = BpfSyscall.ProgGetFdById(id, out BpfFd fd);
        if (err == Errno.ENOENT)
        {
            fd.Dispose();
            return null;
        }

        try
        {
            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_PROG_GET_FD_BY_ID);
            }

            err = BpfSyscall.ProgGetInfo(fd, out info);
            if (err != 0)
            {
                BpfErrors.Throw(err, BpfCommand.BPF_OBJ_GET_INFO_BY_FD);
            }

            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    private static ProgramInfo ToInfo(in ProgInfoFields n) => new(n.Id, (ProgramType)n.Type, n.Name, n.BtfId);
}
