using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Watch;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>Settings of <c>watch</c> beyond the MAP words.</summary>
/// <param name="Interval">Seconds between ticks.</param>
/// <param name="Ticks">Ticks to run (0: until Ctrl+C).</param>
/// <param name="Drain">Drain each tick instead of dumping.</param>
internal sealed record WatchCommandSettings(double Interval, int Ticks, bool Drain);

/// <summary><c>watch MAP [--interval S] [--drain] [--count N]</c>: live top keys by rate.</summary>
/// <param name="console">The console.</param>
/// <param name="options">The shared options (format, --top, --percpu).</param>
internal sealed class WatchCommand(CliConsole console, GlobalOptions options)
{
    /// <summary>Runs the watch.</summary>
    /// <param name="args">The MAP words.</param>
    /// <param name="settings">The settings.</param>
    /// <returns>The exit code.</returns>
    public ExitCode Run(IReadOnlyList<string> args, WatchCommandSettings settings)
    {
        Seconds.Check(settings.Interval, "watch: --interval");
        if (settings.Ticks < 0)
        {
            throw new CliException(ExitCode.Usage, $"watch: --count {settings.Ticks}: must be 0 (until Ctrl+C) or more");
        }

        OutputFormat format = options.Resolve(console.StdoutIsTerminal);
        if (format == OutputFormat.Csv)
        {
            throw new CliException(ExitCode.Usage, "watch: --format csv is not a watch format; use table, plain, json or ndjson");
        }

        if (settings.Drain && options.KeyPrefix is not null)
        {
            // A drain deletes every key it reads; keys the prefix hides would be deleted unseen.
            throw new CliException(ExitCode.Usage, "watch --drain: --key-prefix would delete the keys it hides; drain the whole map, or watch without --drain");
        }

        var words = new Words(args, "watch");
        MapSelector selector = MapSelector.Read(words);
        words.ExpectEnd();
        BpfMap map = selector.OpenOne();
        IWatchSource source;
        bool numericKeys;
        try
        {
            if (map.Type.IsMapInMap())
            {
                // A double-buffered counter map (branch progs' SwapDrainMap): swap, then drain the retired map.
                source = (settings.Drain ? SwapDrainWatchSource.TryOpen(map) : null)
                    ?? throw new CliException(ExitCode.Usage, settings.Drain
                        ? $"watch: {map.Type.KernelName()} {map.Id} is not a double-buffered counter map (one slot holding a map of 8-byte counters)"
                        : $"watch: {map.Type.KernelName()} {map.Id} holds map ids; use --drain to swap-drain a double-buffered counter map");
                numericKeys = true;
            }
            else if (map.KeySize == 0)
            {
                throw new CliException(ExitCode.NotSupported, $"watch: {map.Type.KernelName()} map {map.Id} has no keys to walk");
            }
            else
            {
                EntryLayout layout = EntryLayout.Of(map, options.PerCpu == PerCpuMode.EachCpu ? PerCpuMode.Sum : options.PerCpu, raw: true);
                if (!layout.NumericValue)
                {
                    throw new CliException(ExitCode.Usage, $"watch: values of map {map.Id} are {map.ValueSize} bytes; watch needs 1, 2, 4 or 8-byte counters");
                }

                if (settings.Drain && map.Type.IsArray())
                {
                    throw new CliException(ExitCode.NotSupported, $"watch --drain: {map.Type.KernelName()} elements cannot be deleted");
                }

                source = new MapWatchSource(map, settings.Drain, layout);
                numericKeys = layout.NumericKey;
            }
        }
        catch
        {
            map.Dispose();
            throw;
        }

        if (options.KeyPrefix is { } prefix)
        {
            try
            {
                DumpPipeline.CheckKeyPrefix(prefix, map);
            }
            catch
            {
                source.Dispose();
                throw;
            }

            source = new PrefixWatchSource(source, prefix);
        }

        using IWatchSource owned = source;
        using var interrupt = new Interrupt();
        WatchLoop.Run(console, format, source,
            new WatchSettings(settings.Interval, settings.Ticks, options.Top > 0 ? options.Top : 20), numericKeys, interrupt.Token);
        return ExitCode.Ok;
    }
}
