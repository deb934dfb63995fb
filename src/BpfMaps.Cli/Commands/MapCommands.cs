using System.Globalization;
using System.Text.Json;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Inspection;
using BpfMaps.Cli.Output;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// The bpftool-compatible map commands: show, dump, lookup, getnext, update, delete, create, pin,
/// freeze, plus drain. Each takes the positional words of its command line.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class MapCommands(CliConsole console, GlobalOptions options)
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

    /// <summary>Whether <paramref name="format"/> shows a column per field (where BTF fields and per-field reductions apply).</summary>
    internal static bool HasColumns(OutputFormat format) => format is OutputFormat.Table or OutputFormat.Csv or OutputFormat.Ndjson;

    private void DumpOne(BpfMap map, bool drain, OutputFormat format, bool trailingNewline)
    {
        EntryLayout layout = EntryLayout.Of(map, options.PerCpu, options.Raw, HasColumns(format));
        using IEntryRenderer renderer = format == OutputFormat.Json
            ? new JsonEntryRenderer(console.Stdout, layout, options.Pretty, single: false, trailingNewline)
            : Renderers.ForEntries(format, console, layout, options.Pretty, single: false, Title(map));
        DumpPipeline.Run(map, drain, renderer, layout, options, console);
    }

    /// <summary><c>lookup MAP key DATA</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Lookup(IReadOnlyList<string> args)
    {
        var words = new Words(args, "lookup");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        if (map.Type == MapType.BloomFilter)
        {
            // A keyless lookup of a bloom filter would test an all-zero value; the value must be named.
            throw new CliException(ExitCode.Usage, $"lookup: bloom_filter map {map.Id} has no keys; test a value with peek MAP value VALUE");
        }

        byte[] key = ReadKey(words, map);
        words.ExpectEnd();
        byte[] value = new byte[map.ValueBufferSize];
        if (!map.TryLookup(key, value))
        {
            if (Format == OutputFormat.Json)
            {
                console.Stdout.Write("null\n"u8);
                console.Stdout.Flush();
            }

            // A keyless lookup is a peek: for a queue or stack, nothing is there to read.
            string what = key.Length == 0 ? $"lookup: {map.Type.KernelName()} map {map.Id} is empty" : $"key {Hex.Spaced(key)} not found in map {map.Id}";
            throw new CliException(ExitCode.KeyNotFound, what, jsonWritten: Format == OutputFormat.Json);
        }

        EntryLayout layout = EntryLayout.Of(map, options.PerCpu, options.Raw, HasColumns(Format));
        using IEntryRenderer r = Renderers.ForEntries(Format, console, layout, options.Pretty, single: true, Title(map));
        r.Begin();
        r.Entry(key, value);
        r.End(1);
        return ExitCode.Ok;
    }

    /// <summary><c>getnext MAP [key DATA]</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode GetNext(IReadOnlyList<string> args)
    {
        var words = new Words(args, "getnext");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        RequireKeys(map, words.Command);
        byte[]? key = null;
        if (words.TryKeyword("key"))
        {
            key = ByteData.Read(words, "key", map.KeySize);
        }

        words.ExpectEnd();
        byte[] next = new byte[map.KeySize];
        if (!map.TryGetNextKey(key ?? [], next))
        {
            throw new CliException(ExitCode.KeyNotFound, key is null ? $"map {map.Id} is empty" : $"no key after {Hex.Spaced(key)} in map {map.Id}");
        }

        GetNextRenderer.Render(Format, console, options.Pretty, key, next, options.Raw ? null : map.GetBtfFormatter()?.Key);
        return ExitCode.Ok;
    }

    /// <summary><c>update MAP key DATA value VALUE [any|exist|noexist]</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Update(IReadOnlyList<string> args)
    {
        var words = new Words(args, "update");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        byte[] key = ReadKey(words, map);
        words.Expect("value");
        BpfMap? inner = null;
        byte[]? value = null;
        try
        {
            if (map.Type.IsMapInMap())
            {
                inner = MapSelector.Read(words).OpenOne();
            }
            else
            {
                byte[] one = ByteData.Read(words, "value", map.ValueSize);
                value = new byte[map.ValueBufferSize];
                for (int c = 0; c < map.Cpus; c++)
                {
                    // bpftool gives every CPU the same value.
                    one.CopyTo(value.AsSpan(c * map.ValueStride));
                }
            }

            UpdateFlags flags = UpdateFlags.Any;
            if (words.TryKeyword("exist"))
            {
                flags = UpdateFlags.Exist;
            }
            else if (words.TryKeyword("noexist"))
            {
                if (map.KeySize == 0)
                {
                    // Queues, stacks and bloom filters take BPF_ANY and (queue, stack) BPF_EXIST; the kernel says only EINVAL.
                    throw new CliException(ExitCode.Usage, $"update: {map.Type.KernelName()} map {map.Id} has no keys, so noexist means nothing; use any, or exist to drop the oldest element when full");
                }

                flags = UpdateFlags.NoExist;
            }
            else
            {
                words.TryKeyword("any");
            }

            words.ExpectEnd();
            try
            {
                if (inner is not null)
                {
                    map.SetInnerMap(key, inner, flags);
                }
                else
                {
                    map.Update(key, value, flags);
                }
            }
            catch (BpfException e) when (e.Errno == Errno.EEXIST)
            {
                throw new CliException(ExitCode.KernelError, $"key {Hex.Spaced(key)} already exists (noexist)");
            }
            catch (BpfException e) when (e.Errno == Errno.ENOENT)
            {
                throw new CliException(ExitCode.KeyNotFound, $"key {Hex.Spaced(key)} not found (exist)");
            }
            catch (BpfException e) when (e.Errno == Errno.EPERM && IsFrozen(map))
            {
                throw Frozen(map);
            }
            catch (BpfException e) when (e.Errno == Errno.E2BIG)
            {
                throw new CliException(ExitCode.KernelError, $"map {map.Id} is full ({map.MaxEntries} entries) or the array index is out of range");
            }
        }
        finally
        {
            inner?.Dispose();
        }

        return Done();
    }

    /// <summary><c>delete MAP key DATA</c>.</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Delete(IReadOnlyList<string> args)
    {
        var words = new Words(args, "delete");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        byte[] key = ReadKey(words, map);
        words.ExpectEnd();
        bool deleted;
        try
        {
            deleted = map.Delete(key);
        }
        catch (BpfException e) when (e.Errno == Errno.EINVAL && (map.Type is MapType.Array or MapType.PerCpuArray || map.KeySize == 0))
        {
            // Arrays are fixed; queues and stacks only give up elements by pop.
            throw new CliException(ExitCode.NotSupported, $"delete: {map.Type.KernelName()} elements cannot be deleted{(map.KeySize == 0 ? "" : "; write zeros with update instead")}");
        }
        catch (BpfException e) when (e.Errno == Errno.EPERM && IsFrozen(map))
        {
            throw Frozen(map);
        }

        if (!deleted)
        {
            throw new CliException(ExitCode.KeyNotFound, $"key {Hex.Spaced(key)} not found in map {map.Id}");
        }

        return Done();
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

    // A frozen map's descriptors are read-only, so the kernel answers writes with EPERM even for root.
    internal static bool IsFrozen(BpfMap map) => MapDetails.Read(map, null, null).Frozen;

    internal static CliException Frozen(BpfMap map)
        => new(ExitCode.PermissionDenied, $"permission denied: map {map.Id} is frozen (read-only for syscalls; BPF programs can still write it)");

    // bpftool writes no 'key' for maps whose keys are 0 bytes (queue, stack, bloom filter): 'lookup MAP', 'update MAP value V'.
    private static byte[] ReadKey(Words words, BpfMap map)
    {
        if (map.KeySize == 0 && words.Peek != "key")
        {
            return [];
        }

        words.Expect("key");
        return ByteData.Read(words, "key", map.KeySize);
    }

    // Queue, stack and bloom filter maps have no keys, so BPF_MAP_GET_NEXT_KEY (and the batch commands) answer EINVAL.
    private static void RequireKeys(BpfMap map, string command)
    {
        if (map.KeySize == 0)
        {
            throw new CliException(ExitCode.NotSupported, $"{command}: {map.Type.KernelName()} map {map.Id} has no keys to walk; read it with lookup MAP (peek)");
        }
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

    internal static string Title(BpfMap map) => $"{map.Type.KernelName()} map {map.Id} '{map.Name}'";

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

    // bpftool prints JSON null for commands that have nothing to say.
    private ExitCode Done()
    {
        if (Format == OutputFormat.Json)
        {
            console.Stdout.Write("null\n"u8);
            console.Stdout.Flush();
        }

        return ExitCode.Ok;
    }
}

/// <summary>Renders the answer of <c>getnext</c>.</summary>
internal static class GetNextRenderer
{
    /// <summary>Writes the key and the next key.</summary>
    /// <param name="format">The format.</param>
    /// <param name="console">The console.</param>
    /// <param name="pretty">Indented JSON.</param>
    /// <param name="key">The key asked about, or null for the first.</param>
    /// <param name="next">The next key.</param>
    /// <param name="keyBtf">The key's BTF formatter: JSON then adds a <c>formatted</c> object (bpftool 7.1 prints none for getnext).</param>
    public static void Render(OutputFormat format, CliConsole console, bool pretty, byte[]? key, byte[] next, BpfMaps.Btf.BtfFormatter? keyBtf = null)
    {
        Stream o = console.Stdout;
        switch (format)
        {
            case OutputFormat.Json:
            case OutputFormat.Ndjson:
                using (var w = new Utf8JsonWriter(o, BpftoolJson.Options(pretty && format == OutputFormat.Json)))
                {
                    byte[] scratch = new byte[BpftoolJson.ScratchSize(next.Length)];
                    w.WriteStartObject();
                    w.WritePropertyName("key");
                    if (key is null)
                    {
                        w.WriteNullValue();
                    }
                    else
                    {
                        BpftoolJson.WriteBytes(w, key, scratch);
                    }

                    w.WritePropertyName("next_key");
                    BpftoolJson.WriteBytes(w, next, scratch);
                    if (keyBtf is not null)
                    {
                        var sink = new BpfMaps.Btf.BtfJsonWriterSink(w);
                        w.WritePropertyName("formatted");
                        w.WriteStartObject();
                        w.WritePropertyName("key");
                        if (key is null)
                        {
                            w.WriteNullValue();
                        }
                        else
                        {
                            keyBtf.Write(ref sink, key);
                        }

                        w.WritePropertyName("next_key");
                        keyBtf.Write(ref sink, next);
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                o.Write("\n"u8);
                break;
            case OutputFormat.Csv:
                o.Write(System.Text.Encoding.ASCII.GetBytes($"key,next_key\n{(key is null ? "" : Hex.Compact(key))},{Hex.Compact(next)}\n"));
                break;
            case OutputFormat.Table:
                var grid = new Spectre.Console.Grid().AddColumn().AddColumn();
                grid.AddRow(new Spectre.Console.Text("key"), new Spectre.Console.Text(key is null ? "(none: first key)" : Hex.Spaced(key)));
                grid.AddRow(new Spectre.Console.Text("next key"), new Spectre.Console.Text(Hex.Spaced(next)));
                console.Out.Write(grid);
                break;
            default:
                var sb = new System.Text.StringBuilder();
                sb.Append(key is null ? "key: None\n" : $"key:\n{Grouped(key)}\n");
                sb.Append(CultureInfo.InvariantCulture, $"next key:\n{Grouped(next)}\n");
                o.Write(System.Text.Encoding.ASCII.GetBytes(sb.ToString()));
                break;
        }

        o.Flush();
    }

    private static string Grouped(byte[] b)
    {
        byte[] buf = new byte[Hex.GroupedLength(b.Length)];
        int n = Hex.WriteGrouped(b, buf);
        return System.Text.Encoding.ASCII.GetString(buf, 0, n);
    }
}
