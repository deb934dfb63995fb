using System.Globalization;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Input;

/// <summary>How a command names a map: <c>id N</c>, <c>pinned PATH</c> or <c>name NAME</c>, as in bpftool.</summary>
internal enum SelectorKind
{
    /// <summary><c>id N</c>.</summary>
    Id,

    /// <summary><c>pinned PATH</c>.</summary>
    Pinned,

    /// <summary><c>name NAME</c> (may match several maps).</summary>
    Name,
}

/// <summary>A parsed MAP selector.</summary>
/// <param name="Kind">Which form.</param>
/// <param name="Value">The id, path or name as typed.</param>
internal sealed record MapSelector(SelectorKind Kind, string Value)
{
    /// <summary>The words that may start a selector.</summary>
    public static readonly string[] Keywords = ["id", "pinned", "name"];

    /// <summary>Reads a selector from <paramref name="words"/>.</summary>
    /// <param name="words">The words.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadSelector"/> for anything that is not a selector.</exception>
    public static MapSelector Read(Words words)
    {
        string? kind = words.Peek;
        if (kind is null)
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: expected a map: id N | pinned PATH | name NAME");
        }

        words.Next("map");
        if (kind is not ("id" or "pinned" or "name"))
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: '{kind}' is not a map selector; use id N, pinned PATH or name NAME");
        }

        if (words.AtEnd)
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: '{kind}' needs a value");
        }

        string value = words.Next(kind);
        if (kind == "pinned" && value.Length == 0)
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: 'pinned' needs a path");
        }

        if (kind == "id")
        {
            if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) || id == 0)
            {
                throw new CliException(ExitCode.BadSelector, $"{words.Command}: map id '{value}' is not a positive integer");
            }

            return new MapSelector(SelectorKind.Id, value);
        }

        if (kind == "name" && value.Length > 15)
        {
            throw new CliException(ExitCode.BadSelector, $"{words.Command}: map name '{value}' is longer than 15 characters, the kernel's limit");
        }

        return new MapSelector(kind == "pinned" ? SelectorKind.Pinned : SelectorKind.Name, value);
    }

    /// <summary>The id, for <see cref="SelectorKind.Id"/>.</summary>
    public uint Id => uint.Parse(Value, CultureInfo.InvariantCulture);

    /// <summary>Opens every map the selector matches (several only for <c>name</c>).</summary>
    /// <returns>The maps, by ascending id; the caller disposes them.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.MapNotFound"/> when nothing matches.</exception>
    public List<BpfMap> OpenAll()
    {
        switch (Kind)
        {
            case SelectorKind.Id:
                return [Wrap(() => BpfMap.OpenById(Id))];
            case SelectorKind.Pinned:
                return [Wrap(() => BpfMap.OpenPinned(Value))];
            default:
                var found = new List<BpfMap>();
                foreach (uint id in BpfMap.GetSystemMapIds())
                {
                    BpfMap m;
                    try
                    {
                        m = BpfMap.OpenById(id);
                    }
                    catch (BpfException e) when (e.Errno == Errno.ENOENT)
                    {
                        continue; // gone meanwhile
                    }

                    if (m.Name == Value)
                    {
                        found.Add(m);
                    }
                    else
                    {
                        m.Dispose();
                    }
                }

                if (found.Count == 0)
                {
                    throw new CliException(ExitCode.MapNotFound, $"no map named '{Value}'");
                }

                return found;
        }
    }

    /// <summary>Opens the one map the selector matches.</summary>
    /// <returns>The map.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.MapNotFound"/>; <see cref="ExitCode.BadSelector"/> when a name matches several maps.</exception>
    public BpfMap OpenOne()
    {
        List<BpfMap> all = OpenAll();
        if (all.Count == 1)
        {
            return all[0];
        }

        string ids = string.Join(", ", all.Select(m => m.Id));
        foreach (BpfMap m in all)
        {
            m.Dispose();
        }

        throw new CliException(ExitCode.BadSelector, $"name '{Value}' matches {all.Count} maps (ids {ids}); select one with id N");
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} {Value}";

    private BpfMap Wrap(Func<BpfMap> open)
    {
        try
        {
            return open();
        }
        catch (BpfException e) when (e.Errno == Errno.ENOENT)
        {
            throw new CliException(ExitCode.MapNotFound, Kind == SelectorKind.Id ? $"no map with id {Value}" : $"nothing is pinned at {Value}");
        }
        catch (BpfException e) when (e.Errno == Errno.EINVAL && Kind == SelectorKind.Pinned)
        {
            throw new CliException(ExitCode.MapNotFound, $"{Value} is not a pinned BPF map");
        }
        catch (BpfException e) when (e.Errno is Errno.EACCES or Errno.EPERM && Kind == SelectorKind.Pinned && BpfFs.WhyNotAPin(Value) is { } why)
        {
            throw new CliException(ExitCode.MapNotFound, why);
        }
    }
}
