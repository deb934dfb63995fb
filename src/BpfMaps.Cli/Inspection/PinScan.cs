namespace BpfMaps.Cli.Inspection;

/// <summary>Finds where maps are pinned, by walking every bpffs mount (what <c>-f/--bpffs</c> asks for).</summary>
internal static class PinScan
{
    /// <summary>Map id to its pin paths, sorted.</summary>
    /// <returns>The paths.</returns>
    public static Dictionary<uint, List<string>> PinnedMaps()
    {
        var result = new Dictionary<uint, List<string>>();
        foreach (string mount in BpffsMounts())
        {
            Walk(mount, result, depth: 0);
        }

        foreach (var list in result.Values)
        {
            list.Sort(StringComparer.Ordinal);
        }

        return result;
    }

    /// <summary>The mount points of bpffs, from <c>/proc/mounts</c>.</summary>
    /// <returns>The mount points.</returns>
    public static List<string> BpffsMounts()
    {
        var mounts = new List<string>();
        try
        {
            foreach (string line in File.ReadLines("/proc/mounts"))
            {
                string[] f = line.Split(' ');
                if (f.Length > 2 && f[2] == "bpf" && !mounts.Contains(f[1]))
                {
                    mounts.Add(f[1]);
                }
            }
        }
        catch (IOException)
        {
        }

        return mounts;
    }

    private static void Walk(string dir, Dictionary<uint, List<string>> result, int depth)
    {
        if (depth > 16)
        {
            return;
        }

        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(dir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (string path in entries)
        {
            if (Directory.Exists(path))
            {
                Walk(path, result, depth + 1);
                continue;
            }

            try
            {
                using BpfMap map = BpfMap.OpenPinned(path);
                if (!result.TryGetValue(map.Id, out var list))
                {
                    result[map.Id] = list = [];
                }

                list.Add(path);
            }
            catch (BpfException)
            {
                // A program, link or BTF pin: not a map.
            }
        }
    }
}
