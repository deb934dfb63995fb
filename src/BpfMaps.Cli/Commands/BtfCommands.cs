using BpfMaps.Btf;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Inspection;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// bpftool's <c>btf</c> commands: <c>btf show|list [id N]</c> and <c>btf dump SOURCE [format raw]</c> in
/// bpftool's raw format. Each takes the positional words after the subcommand.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class BtfCommands(CliConsole console, GlobalOptions options)
{
    private const string SysfsPrefix = BtfSpec.KernelBtfDirectory + "/";
    private const string SysfsVmlinux = BtfSpec.KernelBtfDirectory + "/vmlinux";

    /// <summary><c>btf show|list [id N]</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Show(IReadOnlyList<string> args)
    {
        var words = new Words(args, "btf show");
        uint? only = words.AtEnd ? null : BtfSource.ReadId(words);
        words.ExpectEnd();
        bool json = Json();

        // As bpftool does: the one object first (so a wrong id fails before the scan), then who refers to what.
        BtfObjectInfo? one = only is { } wanted ? Open(wanted, BtfSpec.GetInfo) : null;
        BtfReferences references = BtfReferences.Scan();
        var objects = new List<BtfDetails>();
        if (one is not null)
        {
            objects.Add(references.For(one));
        }
        else
        {
            foreach (uint id in BtfSpec.GetSystemBtfIds())
            {
                try
                {
                    objects.Add(references.For(BtfSpec.GetInfo(id)));
                }
                catch (BpfException e) when (e.Errno == Errno.ENOENT)
                {
                    // Freed between listing and opening.
                }
            }
        }

        Renderers.ForBtfInfo(json, console, options.Pretty).Render(objects, single: one is not null);
        return ExitCode.Ok;
    }

    /// <summary><c>btf dump id N | map MAP [key|value|kv|all] | file PATH [format raw]</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Dump(IReadOnlyList<string> args)
    {
        var words = new Words(args, "btf dump");
        BtfSource source = BtfSource.Read(words);
        if (words.TryKeyword("format"))
        {
            string format = words.AtEnd ? "" : words.Next("a format");
            if (format == "c")
            {
                throw new CliException(ExitCode.Usage, "btf dump: format c (C declarations) is not supported; bpfmap prints the raw format only (format raw)");
            }

            if (format != "raw")
            {
                throw new CliException(ExitCode.Usage, $"btf dump: unknown format '{format}'; use format raw");
            }
        }

        words.ExpectEnd();
        bool json = Json();

        // Everything that can fail is read before the first byte of output, so -j prints one document.
        (BtfSpec spec, BtfType[]? roots) = Resolve(source);
        using IBtfTypeRenderer renderer = Renderers.ForBtfTypes(json, console, options.Pretty);
        renderer.Begin();
        if (roots is null)
        {
            // A split BTF (a module's) prints its own types, not its base's.
            for (uint id = spec.FirstTypeId; id < (uint)spec.TypeCount; id++)
            {
                renderer.Type(spec.TypeById(id));
            }
        }
        else
        {
            foreach (BtfType t in roots)
            {
                renderer.Type(t);
            }
        }

        renderer.End();
        return ExitCode.Ok;
    }

    private bool Json() => options.Format switch
    {
        OutputFormat.Json => true,
        OutputFormat.Plain => false,
        OutputFormat.Auto => options.Json || options.Pretty,
        _ => throw new CliException(ExitCode.Usage, $"btf: --format {options.Format.ToString().ToLowerInvariant()} is not supported; btf commands print bpftool's plain text or its JSON (-j)"),
    };

    private static (BtfSpec Spec, BtfType[]? Roots) Resolve(BtfSource source)
    {
        switch (source.Kind)
        {
            case BtfSourceKind.Id:
                return (Open(source.Id, BtfSpec.LoadById), null);
            case BtfSourceKind.File:
                return (LoadFile(source.Path!), null);
            default:
                using (BpfMap map = source.Map!.OpenOne())
                {
                    return MapTypes(map, source.Part);
                }
        }
    }

    private static (BtfSpec Spec, BtfType[]? Roots) MapTypes(BpfMap map, BtfMapPart part)
    {
        MapInfo info = map.Info;
        if (info.BtfId == 0)
        {
            throw new CliException(ExitCode.NoBtf, $"map {info.Id}{(info.Name.Length > 0 ? $" ({info.Name})" : "")} has no BTF");
        }

        BtfSpec spec = Open(info.BtfId, BtfSpec.LoadById);
        BtfType Key() => spec.TypeById(info.BtfKeyTypeId);

        // A struct_ops map's value type is in vmlinux's BTF; bpftool 7.1 prints the map's value type id, 0 (void).
        BtfType Value() => info.BtfVmlinuxValueTypeId != 0
            ? BtfSpec.LoadVmlinux().TypeById(info.BtfVmlinuxValueTypeId)
            : spec.TypeById(info.BtfValueTypeId);

        return part switch
        {
            BtfMapPart.All => (spec, null),
            BtfMapPart.Key => (spec, [Key()]),
            BtfMapPart.Value => (spec, [Value()]),
            _ => (spec, [Key(), Value()]),
        };
    }

    private static BtfSpec LoadFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new CliException(ExitCode.BadBtf, $"btf dump: {path} is a directory, not a BTF file");
        }

        if (!File.Exists(path))
        {
            throw new CliException(ExitCode.NoBtf, $"btf dump: {path}: no such file");
        }

        try
        {
            // bpftool's rule: a file under /sys/kernel/btf other than vmlinux is a module's split BTF on top of vmlinux.
            BtfSpec? baseSpec = path.StartsWith(SysfsPrefix, StringComparison.Ordinal) && path != SysfsVmlinux ? BtfSpec.LoadVmlinux() : null;
            return BtfSpec.LoadFile(path, baseSpec);
        }
        catch (UnauthorizedAccessException)
        {
            throw new CliException(ExitCode.PermissionDenied, $"btf dump: {path}: permission denied");
        }
        catch (BtfException e)
        {
            throw new CliException(ExitCode.BadBtf, $"btf dump: {path}: {OneLine(e.Message)}");
        }
    }

    private static T Open<T>(uint id, Func<uint, T> open)
    {
        try
        {
            return open(id);
        }
        catch (BpfException e) when (e.Errno == Errno.ENOENT)
        {
            throw new CliException(ExitCode.NoBtf, $"no BTF object with id {id}");
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
