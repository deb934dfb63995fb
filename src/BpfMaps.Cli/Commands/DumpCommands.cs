using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;
using static BpfMaps.Cli.Commands.MapCommands;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// The commands that stream a whole map: dump and drain (bpftool's <c>map dump</c>, and BPF_MAP_LOOKUP_AND_DELETE_BATCH).
/// Each takes the positional words of its command line.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class DumpCommands(CliConsole console, GlobalOptions options)
{
    private OutputFormat Format => options.Resolve(console.StdoutIsTerminal);

    /// <summary><c>dump MAP</c> or <c>drain MAP</c>.</summary>
    /// <param name="args">The words.</param>
    /// <param name="drain">Delete what is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH).</param>
    /// <returns>The exit code.</returns>
    public ExitCode Dump(IReadOnlyList<string> args, bool drain)
    {
        var words = new Words(args, drain ? "drain" : "dump");
        MapSelector selector = MapSelector.Read(words);
        words.ExpectEnd();
        List<BpfMap> maps = selector.OpenAll();
        try
        {
            // Checked for every map before the first byte of output, so -j never leaves an array open.
            if (drain && options.KeyPrefix is not null)
            {
                // A drain deletes every key it reads; keys the prefix hides would be deleted unseen.
                throw new CliException(ExitCode.Usage, "drain: --key-prefix would delete the keys it hides; drain the whole map, or dump with --key-prefix");
            }

            foreach (BpfMap m in maps)
            {
                RequireKeys(m, words.Command);
                DumpPipeline.CheckKeyPrefix(options.KeyPrefix, m);
                if (drain && m.Type.IsArray())
                {
                    throw new CliException(ExitCode.NotSupported, $"drain: {m.Type.KernelName()} map {m.Id}: array elements cannot be deleted; read it with dump, or keep counters in a double-buffered map and use watch --drain");
                }
            }

            if (maps.Count == 1)
            {
                DumpOne(maps[0], drain, Format, trailingNewline: true);
                return ExitCode.Ok;
            }

            // A name that matches several maps: bpftool's shape, each map's header and then its elements.
            OutputFormat format = Format;
            Stream o = console.Stdout;
            if (format == OutputFormat.Json)
            {
                o.Write("["u8);
            }

            for (int i = 0; i < maps.Count; i++)
            {
                BpfMap m = maps[i];
                string header = format == OutputFormat.Json
                    ? $"{(i > 0 ? "," : "")}{{\"id\":{m.Id},\"type\":\"{m.Type.KernelName()}\",\"name\":\"{m.Name}\",\"flags\":{(uint)m.Info.Flags},\"elements\":"
                    : $"{(i > 0 ? "\n" : "")}{m.Id}: {m.Type.KernelName()}  name {m.Name}  flags 0x{(uint)m.Info.Flags:x}\n";
                o.Write(System.Text.Encoding.UTF8.GetBytes(header));
                try
                {
                    DumpOne(m, drain, format, trailingNewline: false);
                }
                catch (Exception ex) when (format == OutputFormat.Json)
                {
                    // Close this map's object and the outer array, so stdout stays one valid document
                    // whose last element carries the error.
                    (ExitCode code, string message) = ErrorReport.Classify(ex);
                    if (ex is not CliException { JsonWritten: true })
                    {
                        using (var w = new System.Text.Json.Utf8JsonWriter(o))
                        {
                            w.WriteStartObject();
                            w.WriteString("error", message);
                            w.WriteEndObject();
                        }
                    }

                    o.Write("}]\n"u8);
                    o.Flush();
                    throw new CliException(code, message, jsonWritten: true);
                }

                if (format == OutputFormat.Json)
                {
                    o.Write("}"u8);
                }
            }

            if (format == OutputFormat.Json)
            {
                o.Write("]\n"u8);
            }

            o.Flush();
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

    private void DumpOne(BpfMap map, bool drain, OutputFormat format, bool trailingNewline)
    {
        EntryLayout layout = EntryLayout.Of(map, options.PerCpu, options.Raw, HasColumns(format));
        using IEntryRenderer renderer = Renderers.ForEntries(format, console, layout, options.Pretty, single: false, Title(map), trailingNewline);
        DumpPipeline.Run(map, drain, renderer, layout, options, console);
    }
}
