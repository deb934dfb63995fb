using System.Globalization;

namespace BpfMaps.Cli.Inspection;

/// <summary>
/// Everything <c>show</c> prints about a map: the kernel's info plus what only the map's fdinfo
/// knows (memlock, frozen), its pin paths (with <c>-f</c>), and the processes holding it.
/// </summary>
/// <param name="Info">BPF_OBJ_GET_INFO_BY_FD.</param>
/// <param name="BytesMemlock">The <c>memlock:</c> line of the fdinfo, or null if unreadable.</param>
/// <param name="Frozen">The <c>frozen:</c> line of the fdinfo.</param>
/// <param name="Pinned">Pin paths on bpffs mounts (only looked up with <c>-f</c>), else empty.</param>
/// <param name="Holders">Other processes holding the map.</param>
internal sealed record MapDetails(MapInfo Info, long? BytesMemlock, bool Frozen, IReadOnlyList<string> Pinned, IReadOnlyList<ObjectHolder> Holders)
{
    /// <summary>Reads the details of an open map.</summary>
    /// <param name="map">The map (a kernel map).</param>
    /// <param name="pins">Pin paths by map id, or null when not asked for.</param>
    /// <param name="holders">Holders by map id, or null to skip.</param>
    /// <returns>The details.</returns>
    public static MapDetails Read(BpfMap map, IReadOnlyDictionary<uint, List<string>>? pins, IReadOnlyDictionary<uint, List<ObjectHolder>>? holders)
    {
        MapInfo info = map.GetInfo();
        long? memlock = null;
        bool frozen = false;
        if (map.Handle is { } h)
        {
            bool added = false;
            h.DangerousAddRef(ref added);
            try
            {
                string path = $"/proc/self/fdinfo/{h.DangerousGetHandle().ToInt32()}";
                foreach (string line in File.ReadLines(path))
                {
                    if (TryField(line, "memlock:", out long v))
                    {
                        memlock = v;
                    }
                    else if (TryField(line, "frozen:", out long f))
                    {
                        frozen = f != 0;
                    }
                }
            }
            catch (IOException)
            {
                // fdinfo is informational; show the rest.
            }
            finally
            {
                if (added)
                {
                    h.DangerousRelease();
                }
            }
        }

        IReadOnlyList<string> pinned = pins is not null && pins.TryGetValue(info.Id, out var p) ? p : [];
        IReadOnlyList<ObjectHolder> held = holders is not null && holders.TryGetValue(info.Id, out var hs) ? hs : [];
        return new MapDetails(info, memlock, frozen, pinned, held);
    }

    internal static bool TryField(string line, string name, out long value)
    {
        value = 0;
        if (!line.StartsWith(name, StringComparison.Ordinal))
        {
            return false;
        }

        return long.TryParse(line.AsSpan(name.Length).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }
}
