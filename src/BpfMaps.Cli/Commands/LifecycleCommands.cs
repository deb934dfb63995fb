using System.Globalization;
using BpfMaps.Cli.Errors;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Inspection;
using BpfMaps.Cli.Output;
using static BpfMaps.Cli.Commands.MapCommands;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// The bpftool-compatible commands on whole maps as objects: show, create, pin, freeze.
/// Each takes the positional words of its command line.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class LifecycleCommands(CliConsole console, GlobalOptions options)
{
    private OutputFormat Format => options.Resolve(console.StdoutIsTerminal);

    /// <summary><c>show|list [MAP]</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Show(IReadOnlyList<string> args)
    {
        var words = new Words(args, "show");
        List<BpfMap> maps;
        bool single = false;
        if (words.AtEnd)
        {
            maps = [.. BpfMap.OpenSystemMaps()];
        }
        else
        {
            MapSelector selector = MapSelector.Read(words);
            words.ExpectEnd();
            maps = selector.OpenAll();

            // bpftool prints an object for one map, an array when a name matches several.
            single = maps.Count == 1;
        }

        try
        {
            var pins = options.Bpffs ? PinScan.PinnedMaps() : null;
            var holders = ProcessScan.MapHolders();
            var details = maps.Select(m => MapDetails.Read(m, pins, holders)).ToList();
            Renderers.ForMapInfo(Format, console, options.Pretty).Render(details, single);
            return ExitCode.Ok;
        }
        finally
        {
            foreach (BpfMap m in maps)
            {
                m.Dispose();
            }
        }
    }

    /// <summary><c>create FILE type TYPE key N value N entries N name NAME [flags F] [inner_map MAP]</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Create(IReadOnlyList<string> args)
    {
        var words = new Words(args, "create");
        string file = PinFile(words);
        MapType? type = null;
        int? key = null, value = null, entries = null;
        string? name = null;
        uint flags = 0;
        MapSelector? innerSel = null;
        while (!words.AtEnd)
        {
            string kw = words.Next("keyword");
            switch (kw)
            {
                case "type":
                    string t = words.Next("TYPE");
                    if (!MapTypeExtensions.TryParseKernelName(t, out MapType mt) || mt == MapType.Unspecified)
                    {
                        throw new CliException(ExitCode.UnknownType, $"unknown map type '{t}' (e.g. hash, array, percpu_hash, lru_hash, array_of_maps)");
                    }

                    type = mt;
                    break;
                case "key":
                    key = (int)Number(words, "key");
                    break;
                case "value":
                    value = (int)Number(words, "value");
                    break;
                case "entries":
                    entries = (int)Number(words, "entries");
                    break;
                case "name":
                    name = words.Next("NAME");
                    break;
                case "flags":
                    flags = (uint)Number(words, "flags", uint.MaxValue);
                    break;
                case "inner_map":
                    innerSel = MapSelector.Read(words);
                    break;
                default:
                    throw new CliException(ExitCode.Usage, $"create: unknown keyword '{kw}' (type, key, value, entries, name, flags, inner_map)");
            }
        }

        if (type is null || key is null || value is null || entries is null || name is null)
        {
            string missing = string.Join(", ", new[] { ("type", type is null), ("key", key is null), ("value", value is null), ("entries", entries is null), ("name", name is null) }.Where(x => x.Item2).Select(x => x.Item1));
            throw new CliException(ExitCode.Usage, $"create: missing {missing}");
        }

        if (innerSel is not null && !type.Value.IsMapInMap())
        {
            throw new CliException(ExitCode.Usage, $"create: inner_map is only for array_of_maps and hash_of_maps, not {type.Value.KernelName()}");
        }

        using BpfMap? inner = innerSel?.OpenOne();
        if (type.Value.IsMapInMap() && inner is null)
        {
            throw new CliException(ExitCode.Usage, $"create: {type.Value.KernelName()} needs inner_map MAP");
        }

        BpfMap map;
        try
        {
            map = BpfMap.Create(new MapSpec
            {
                Type = type.Value,
                KeySize = key.Value,
                ValueSize = value.Value,
                MaxEntries = entries.Value,
                Name = name,
                Flags = (MapFlags)flags,
                InnerMap = inner,
            });
        }
        catch (ArgumentException e)
        {
            throw new CliException(ExitCode.Usage, "create: " + e.Message.Split(" (Parameter")[0]);
        }
        catch (BpfException e) when (e.Errno == Errno.EINVAL)
        {
            throw new CliException(ExitCode.KernelError, $"create: the kernel rejected {type.Value.KernelName()} with key {key}, value {value}, entries {entries}, flags 0x{flags:x} (EINVAL)");
        }
        catch (BpfException e) when (e.Errno == Errno.E2BIG)
        {
            // BPF_MAP_CREATE's E2BIG means a size past the kernel's limit, not a full map.
            throw new CliException(ExitCode.KernelError, $"create: the kernel rejected {type.Value.KernelName()} with key {key}, value {value}, entries {entries} as too large (E2BIG)");
        }

        using (map)
        {
            PinAt(map, file);
        }

        return Done();
    }

    /// <summary><c>pin MAP FILE</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Pin(IReadOnlyList<string> args)
    {
        var words = new Words(args, "pin");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        string file = PinFile(words);
        words.ExpectEnd();
        PinAt(map, file);
        return Done();
    }

    /// <summary><c>freeze MAP</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Freeze(IReadOnlyList<string> args)
    {
        var words = new Words(args, "freeze");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        words.ExpectEnd();
        try
        {
            map.Freeze();
        }
        catch (BpfException e) when (e.Errno is Errno.EPERM or Errno.EBUSY && IsFrozen(map))
        {
            // The kernel checks write access first, and a frozen map's descriptors are read-only: EPERM, not EBUSY.
            throw new CliException(ExitCode.KernelError, $"freeze: map {map.Id} is already frozen");
        }

        return Done();
    }

    private static string PinFile(Words words)
    {
        string file = words.Next("FILE");
        return file.Length > 0 ? file : throw new CliException(ExitCode.Usage, $"{words.Command}: FILE is empty; give a path on a bpffs mount");
    }

    private static void PinAt(BpfMap map, string file)
    {
        try
        {
            map.Pin(file);
        }
        catch (BpfException e) when (e.Errno is Errno.EPERM or Errno.EACCES && BpfFs.WhyCannotPinAt(file) is { } why)
        {
            throw new CliException(ExitCode.Usage, why);
        }
    }

    // Sizes and counts are ints in MapSpec; flags are the kernel's u32 map_flags.
    private static long Number(Words words, string what, long max = int.MaxValue)
    {
        string w = words.Next(what);
        bool ok = w.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(w.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long v)
            : long.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok || v < 0 || v > max)
        {
            throw new CliException(ExitCode.Usage, $"create: {what} '{w}' is not an integer from 0 to {max}");
        }

        return v;
    }

    private ExitCode Done() => MapCommands.Done(console, Format);
}
