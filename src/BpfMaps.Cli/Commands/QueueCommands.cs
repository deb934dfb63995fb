using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// bpftool's commands for maps without keys: <c>peek</c>, <c>push</c>, <c>pop</c>, and the queue words
/// <c>enqueue</c> and <c>dequeue</c>. Each takes the positional words of its command line.
/// </summary>
/// <remarks>
/// bpftool runs these as lookup, update and lookup-and-delete on any map; bpfmap names the map type
/// each one is for and refuses the others, so <c>pop</c> on a hash map is an error, not a silent miss.
/// </remarks>
/// <param name="console">The console.</param>
/// <param name="options">The shared options.</param>
internal sealed class QueueCommands(CliConsole console, GlobalOptions options)
{
    private OutputFormat Format => options.Resolve(console.StdoutIsTerminal);

    /// <summary><c>peek MAP</c> (queue, stack), or <c>peek MAP value VALUE</c> (bloom filter: may it hold VALUE?).</summary>
    /// <param name="args">The words.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Peek(IReadOnlyList<string> args)
    {
        var words = new Words(args, "peek");
        using BpfMap map = MapSelector.Read(words).OpenOne();
        RequireType(map, words.Command, queueOnly: false);
        byte[] value;
        if (map.Type == MapType.BloomFilter)
        {
            if (!words.TryKeyword("value"))
            {
                throw new CliException(ExitCode.Usage, $"peek: bloom_filter map {map.Id} has no head to read; test a value with peek MAP value VALUE");
            }

            value = ByteData.Read(words, "value", map.ValueSize);
            words.ExpectEnd();
            if (!map.MayContain(value))
            {
                throw NotFound($"peek: value {Hex.Spaced(value)} is not in bloom_filter map {map.Id}");
            }
        }
        else
        {
            words.ExpectEnd();
            value = new byte[map.ValueSize];
            if (!map.TryPeek(value))
            {
                throw NotFound($"peek: {map.Type.KernelName()} map {map.Id} is empty");
            }
        }

        Render(map, value);
        return ExitCode.Ok;
    }

    /// <summary><c>push MAP value VALUE [any|exist]</c>, or <c>enqueue</c> (queues only).</summary>
    /// <param name="args">The words.</param>
    /// <param name="command"><c>push</c> or <c>enqueue</c>.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Push(IReadOnlyList<string> args, string command)
    {
        var words = new Words(args, command);
        using BpfMap map = MapSelector.Read(words).OpenOne();
        RequireType(map, command, queueOnly: command == "enqueue");
        words.Expect("value");
        byte[] value = ByteData.Read(words, "value", map.ValueSize);
        UpdateFlags flags = UpdateFlags.Any;
        if (words.TryKeyword("exist"))
        {
            flags = UpdateFlags.Exist;
        }
        else if (words.Peek == "noexist")
        {
            // The kernel answers EINVAL: a queue or stack push never checks for an existing element.
            throw new CliException(ExitCode.Usage, $"{command}: {map.Type.KernelName()} maps take any or exist, not noexist");
        }
        else
        {
            words.TryKeyword("any");
        }

        words.ExpectEnd();
        if (map.Type == MapType.BloomFilter && flags != UpdateFlags.Any)
        {
            throw new CliException(ExitCode.Usage, $"{command}: bloom_filter maps take no flags (any), not exist");
        }

        try
        {
            map.Push(value, flags);
        }
        catch (BpfException e) when (e.Errno == Errno.E2BIG)
        {
            throw new CliException(ExitCode.KernelError, $"{command}: {map.Type.KernelName()} map {map.Id} is full ({map.MaxEntries} entries); add 'exist' to drop the oldest element instead");
        }
        catch (BpfException e) when (e.Errno == Errno.EPERM && MapCommands.IsFrozen(map))
        {
            throw MapCommands.Frozen(map);
        }

        if (Format == OutputFormat.Json)
        {
            // bpftool prints JSON null for commands that have nothing to say.
            console.Stdout.Write("null\n"u8);
            console.Stdout.Flush();
        }

        return ExitCode.Ok;
    }

    /// <summary><c>pop MAP</c>, or <c>dequeue MAP</c> (queues only).</summary>
    /// <param name="args">The words.</param>
    /// <param name="command"><c>pop</c> or <c>dequeue</c>.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Pop(IReadOnlyList<string> args, string command)
    {
        var words = new Words(args, command);
        using BpfMap map = MapSelector.Read(words).OpenOne();
        RequireType(map, command, queueOnly: command == "dequeue");
        words.ExpectEnd();
        byte[] value = new byte[map.ValueSize];
        bool popped;
        try
        {
            popped = map.TryPop(value);
        }
        catch (BpfNotSupportedException e) when (map.Type == MapType.BloomFilter)
        {
            throw new CliException(ExitCode.NotSupported, $"{command}: bloom_filter map {map.Id} cannot give values back (the kernel answers {Errno.Name(e.Errno)}); test a value with peek MAP value VALUE");
        }
        catch (BpfException e) when (e.Errno == Errno.EPERM && MapCommands.IsFrozen(map))
        {
            throw MapCommands.Frozen(map);
        }

        if (!popped)
        {
            throw NotFound($"{command}: {map.Type.KernelName()} map {map.Id} is empty");
        }

        Render(map, value);
        return ExitCode.Ok;
    }

    // enqueue and dequeue are bpftool's words for queues; push, pop and peek also take stacks (and bloom filters).
    private static void RequireType(BpfMap map, string command, bool queueOnly)
    {
        if (queueOnly)
        {
            if (map.Type != MapType.Queue)
            {
                string instead = map.Type == MapType.Stack || (map.Type == MapType.BloomFilter && command == "enqueue") ? $"; use {(command == "enqueue" ? "push" : "pop")}" : "";
                throw new CliException(ExitCode.NotSupported, $"{command}: {map.Type.KernelName()} map {map.Id} is not a queue{instead}");
            }

            return;
        }

        if (map.Type is not (MapType.Queue or MapType.Stack or MapType.BloomFilter))
        {
            string instead = command switch
            {
                "push" => "update MAP key DATA value VALUE",
                "pop" => "lookup MAP key DATA, then delete MAP key DATA",
                _ => "lookup MAP key DATA",
            };
            throw new CliException(ExitCode.NotSupported, $"{command}: {map.Type.KernelName()} map {map.Id} is not a queue, stack or bloom filter; use {instead}");
        }
    }

    // bpftool answers an empty queue or stack with JSON null (and ENOENT); the line goes to stderr.
    private CliException NotFound(string message)
    {
        bool json = Format == OutputFormat.Json;
        if (json)
        {
            console.Stdout.Write("null\n"u8);
            console.Stdout.Flush();
        }

        return new CliException(ExitCode.KeyNotFound, message, jsonWritten: json);
    }

    // As bpftool prints what lookup finds in a map without keys: the value alone in text, "key": [] in JSON.
    private void Render(BpfMap map, byte[] value)
    {
        EntryLayout layout = EntryLayout.Of(map, options.PerCpu, options.Raw, MapCommands.HasColumns(options.Resolve(console.StdoutIsTerminal)));
        using IEntryRenderer r = Renderers.ForEntries(Format, console, layout, options.Pretty, single: true, MapCommands.Title(map));
        r.Begin();
        r.Entry([], value);
        r.End(1);
    }
}
