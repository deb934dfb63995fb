using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Output;
using Spectre.Console;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// Streams a map through a renderer a batch at a time (BPF_MAP_LOOKUP_BATCH, or the _AND_DELETE_ form
/// for a drain): the key-prefix filter works per entry, so only <c>--sort</c>/<c>--top</c> hold entries.
/// Shows a progress bar on stderr for maps of more than <see cref="ProgressThreshold"/> entries when
/// stderr is a terminal and stdout is not (a bar would tear a table being written to the same terminal).
/// </summary>
internal static class DumpPipeline
{
    /// <summary>Maps with more possible entries than this get a progress bar (on a terminal).</summary>
    public const int ProgressThreshold = 100_000;

    /// <summary>Runs the dump or drain.</summary>
    /// <param name="map">The map.</param>
    /// <param name="drain">Delete what is read.</param>
    /// <param name="renderer">The renderer.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="options">Filter, sort and top.</param>
    /// <param name="console">For the progress bar.</param>
    /// <returns>Entries written.</returns>
    public static long Run(BpfMap map, bool drain, IEntryRenderer renderer, EntryLayout layout, GlobalOptions options, CliConsole console)
    {
        if (console.StderrIsTerminal && !console.StdoutIsTerminal && map.MaxEntries > ProgressThreshold)
        {
            long written = 0;
            console.Err.Progress()
                .AutoClear(true)
                .HideCompleted(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{(drain ? "draining" : "dumping")} {Markup.Escape(map.Name)}", maxValue: map.MaxEntries);
                    task.IsIndeterminate = !map.Type.IsArray();
                    var sinceRefresh = System.Diagnostics.Stopwatch.StartNew();
                    bool first = true;
                    written = RunCore(map, drain, renderer, layout, options, n =>
                    {
                        task.Value = Math.Min(n, map.MaxEntries);
                        task.Description = $"{(drain ? "draining" : "dumping")} {Markup.Escape(map.Name)}: {n:N0} entries";

                        // Draw the first batch at once, then at most ten times a second.
                        if (first || sinceRefresh.ElapsedMilliseconds >= 100)
                        {
                            ctx.Refresh();
                            sinceRefresh.Restart();
                            first = false;
                        }
                    });
                    task.Value = map.MaxEntries;
                    task.StopTask();
                });
            return written;
        }

        return RunCore(map, drain, renderer, layout, options, null);
    }

    /// <summary>Refuses a <c>--key-prefix</c> longer than <paramref name="map"/>'s keys.</summary>
    /// <param name="prefix">The prefix, or null.</param>
    /// <param name="map">The map.</param>
    /// <exception cref="CliException"><see cref="ExitCode.SizeMismatch"/>.</exception>
    public static void CheckKeyPrefix(byte[]? prefix, BpfMap map)
    {
        if (prefix is not null && prefix.Length > map.KeySize)
        {
            throw new CliException(ExitCode.SizeMismatch, $"--key-prefix has {prefix.Length} bytes but keys are {map.KeySize} bytes");
        }
    }

    /// <summary>The dump itself, with a callback after each batch (entries read so far).</summary>
    /// <param name="map">The map.</param>
    /// <param name="drain">Delete what is read.</param>
    /// <param name="renderer">The renderer.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="options">Filter, sort and top.</param>
    /// <param name="onBatch">Progress callback, or null.</param>
    /// <returns>Entries written.</returns>
    public static long RunCore(BpfMap map, bool drain, IEntryRenderer renderer, EntryLayout layout, GlobalOptions options, Action<long>? onBatch)
    {
        byte[]? prefix = options.KeyPrefix;
        CheckKeyPrefix(prefix, map);

        EntryOrdering? ordering = EntryOrdering.Needed(options) ? new EntryOrdering(layout, options.Sort, options.Top, options.SortField) : null;
        long written;
        renderer.Begin();
        try
        {
            written = Stream(map, drain, renderer, prefix, ordering, onBatch);
        }
        catch (Exception ex)
        {
            // Close what was written (a JSON array stays valid, with the error as its last element,
            // as bpftool does), then report the same error the runner would have.
            (ExitCode code, string message) = ErrorReport.Classify(ex);
            bool inOutput;
            try
            {
                inOutput = renderer.Fail(message);
            }
            catch (IOException)
            {
                inOutput = false;
            }

            throw new CliException(code, message, inOutput);
        }

        renderer.End(written);
        return written;
    }

    private static long Stream(BpfMap map, bool drain, IEntryRenderer renderer, byte[]? prefix, EntryOrdering? ordering, Action<long>? onBatch)
    {
        int keySize = map.KeySize;
        int valueSize = map.ValueBufferSize;
        long written = 0, read = 0;
        if (!drain && BatchReadAhead.Worthwhile(map))
        {
            // The kernel reads the next batches while this thread renders the current one.
            using var ahead = new BatchReadAhead(map);
            while (ahead.MoveNextBatch())
            {
                Batch(ahead.BatchKeys, ahead.BatchValues, ahead.BatchCount);
            }
        }
        else
        {
            using MapEnumerator e = drain ? map.Drain().GetEnumerator() : map.Dump().GetEnumerator();
            while (e.MoveNextBatch())
            {
                Batch(e.BatchKeys, e.BatchValues, e.BatchCount);
            }
        }

        return ordering is not null ? ordering.Emit(renderer) : written;

        void Batch(ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, int n)
        {
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<byte> key = keys.Slice(i * keySize, keySize);
                if (prefix is not null && !key.StartsWith(prefix))
                {
                    continue;
                }

                ReadOnlySpan<byte> value = values.Slice(i * valueSize, valueSize);
                if (ordering is not null)
                {
                    ordering.Add(key, value);
                }
                else
                {
                    renderer.Entry(key, value);
                    written++;
                }
            }

            read += n;
            onBatch?.Invoke(read);
        }
    }
}
