using System.Globalization;
using BpfMaps.Cli.Inspection;

namespace BpfMaps.Cli.Input;

/// <summary>
/// Shell completion for the bpftool-style words: selector keywords, then live map ids, names and pin
/// paths, then the command's next keyword. Failures (no permission) complete nothing.
/// </summary>
internal static class Completions
{
    private static readonly string[] SlotKeywords = ["cpu", "index"];

    /// <summary>Suggestions for the word being typed.</summary>
    /// <param name="command">The command.</param>
    /// <param name="words">Words typed so far (may include the partial word).</param>
    /// <param name="partial">The partial word.</param>
    /// <returns>Candidates starting with <paramref name="partial"/>.</returns>
    public static IEnumerable<string> ForWords(string command, IReadOnlyList<string> words, string partial)
    {
        var done = words.ToList();
        if (done.Count > 0 && partial.Length > 0 && done[^1] == partial)
        {
            done.RemoveAt(done.Count - 1);
        }

        IEnumerable<string> all;
        try
        {
            all = Candidates(command, done).ToList();
        }
        catch (Exception e) when (e is BpfException or IOException or UnauthorizedAccessException)
        {
            all = [];
        }

        return all.Where(c => c.StartsWith(partial, StringComparison.Ordinal)).ToList();
    }

    /// <summary>Suggestions for the words of <c>btf show</c> and <c>btf dump</c>.</summary>
    /// <param name="command"><c>show</c> or <c>dump</c>.</param>
    /// <param name="words">Words typed so far (may include the partial word).</param>
    /// <param name="partial">The partial word.</param>
    /// <returns>Candidates starting with <paramref name="partial"/>.</returns>
    public static IEnumerable<string> ForBtfWords(string command, IReadOnlyList<string> words, string partial)
    {
        var done = words.ToList();
        if (done.Count > 0 && partial.Length > 0 && done[^1] == partial)
        {
            done.RemoveAt(done.Count - 1);
        }

        IEnumerable<string> all;
        try
        {
            all = BtfCandidates(command, done).ToList();
        }
        catch (Exception e) when (e is BpfException or IOException or UnauthorizedAccessException)
        {
            all = [];
        }

        return all.Where(c => c.StartsWith(partial, StringComparison.Ordinal)).ToList();
    }

    private static IEnumerable<string> BtfCandidates(string command, List<string> done)
    {
        if (command == "show")
        {
            return done.Count == 0 ? ["id"]
                : done is ["id"] ? Btf.BtfSpec.GetSystemBtfIds().Select(i => i.ToString(CultureInfo.InvariantCulture))
                : [];
        }

        if (done.Count == 0)
        {
            return BtfSource.Keywords;
        }

        if (done is ["id"])
        {
            return Btf.BtfSpec.GetSystemBtfIds().Select(i => i.ToString(CultureInfo.InvariantCulture));
        }

        if (done[0] == "map" && done.Count <= 2)
        {
            // The map selector: the same candidates as any map command's.
            return Candidates("dump", done[1..]);
        }

        if (done[^1] == "format")
        {
            return ["raw"];
        }

        return done[0] == "map" && done.Count == 3 ? [.. BtfSource.MapParts, "format"]
            : done.Count == 2 || (done[0] == "map" && done.Count == 4) ? ["format"]
            : [];
    }

    private static IEnumerable<string> Candidates(string command, List<string> done)
    {
        int start = command == "create" ? 1 : 0;
        string? last = done.Count > 0 ? done[^1] : null;
        if (last == "id")
        {
            return BpfMap.GetSystemMapIds().Select(i => i.ToString(CultureInfo.InvariantCulture));
        }

        if (last == "name")
        {
            return command == "create" && done.Count != 1 + start && done.IndexOf("inner_map") != done.Count - 2
                ? []
                : BpfMap.ListSystemMaps().Select(m => m.Name).Where(n => n.Length > 0).Distinct();
        }

        if (last == "pinned")
        {
            return PinScan.PinnedMaps().Values.SelectMany(p => p);
        }

        if (last == "type" && command == "create")
        {
            return Enum.GetValues<MapType>().Where(t => t != MapType.Unspecified).Select(t => t.KernelName());
        }

        if (done.Count == start || (command == "create" && last == "inner_map"))
        {
            return MapSelector.Keywords;
        }

        if (command == "event_pipe" && done.Count >= start + 2)
        {
            // cpu N index M, in either order; CPU numbers from the possible CPUs.
            return last == "cpu" ? Enumerable.Range(0, PossibleCpus.Count).Select(c => c.ToString(CultureInfo.InvariantCulture))
                : last == "index" ? []
                : SlotKeywords.Where(k => !done.Skip(start + 2).Contains(k));
        }

        if (done.Count == start + 2)
        {
            return command switch
            {
                "lookup" or "delete" or "update" or "getnext" => ["key"],
                "push" or "enqueue" => ["value"],
                _ => [],
            };
        }

        if (command == "update" && done.Contains("value"))
        {
            return ["any", "exist", "noexist"];
        }

        if (command is "push" or "enqueue" && done.Contains("value"))
        {
            return ["any", "exist"];
        }

        if (command == "update" && done.Contains("key"))
        {
            return ["value", "hex"];
        }

        if (command == "create")
        {
            return ["type", "key", "value", "entries", "name", "flags", "inner_map"];
        }

        return [];
    }
}
