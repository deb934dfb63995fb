using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;
using static BpfMaps.Cli.Commands.MapCommands;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// The bpftool-compatible commands on one element of a map: lookup, getnext, update, delete.
/// Each takes the positional words of its command line.
/// </summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class ElementCommands(CliConsole console, GlobalOptions options)
{
    private OutputFormat Format => options.Resolve(console.StdoutIsTerminal);

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

    private ExitCode Done() => MapCommands.Done(console, Format);
}
