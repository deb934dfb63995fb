using System.CommandLine;
using System.CommandLine.Invocation;
using BpfMaps.Cli;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Demo;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Errors;

return BpfmapCli.Run(args, CliConsole.System());

namespace BpfMaps.Cli
{
    /// <summary>
    /// The command tree: parses options into <see cref="GlobalOptions"/> and hands each command's words
    /// to its worker. Nothing below this class sees System.CommandLine types.
    /// </summary>
    internal static class BpfmapCli
    {
        /// <summary>Parses and runs a command line.</summary>
        /// <param name="args">The arguments.</param>
        /// <param name="console">The console.</param>
        /// <returns>The exit code.</returns>
        public static int Run(string[] args, CliConsole console)
        {
            if (args.Length > ArgumentArity.ZeroOrMore.MaximumNumberOfValues)
            {
                // System.CommandLine stops taking words there and calls the next one unrecognized.
                return CommandRunner.Execute(console, () => new GlobalOptions(), _ =>
                    throw new CliException(ExitCode.Usage, $"{args.Length:N0} words on one command line: bpfmap takes at most {ArgumentArity.ZeroOrMore.MaximumNumberOfValues:N0} (one per DATA byte)"));
            }

            RootCommand root = Build(console);
            ParseResult parse = root.Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
            {
                // One line: the most specific error (an unknown token or an option's own problem says
                // more than "command missing", which a bare option also triggers).
                var error = parse.Errors.FirstOrDefault(e => e.Message.Contains("Unrecognized", StringComparison.Ordinal))
                    ?? parse.Errors.FirstOrDefault(e => e.Message.Contains("--", StringComparison.Ordinal))
                    ?? parse.Errors[0];

                // Some parser messages list the choices on lines of their own; the contract is one line.
                string message = string.Join(' ', error.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                return CommandRunner.Execute(console, () => new GlobalOptions { Json = args.Any(a => a is "-j" or "--json" or "-p" or "--pretty") }, _ =>
                    throw new CliException(ExitCode.Usage, $"{message} (see bpfmap --help)"));
            }

            var config = new InvocationConfiguration { Output = new StreamWriter(console.Stdout, leaveOpen: true) { AutoFlush = true }, Error = console.Stderr };
            return parse.Invoke(config);
        }

        /// <summary>Builds the command tree.</summary>
        /// <param name="console">The console the workers write to.</param>
        /// <returns>The root command.</returns>
        public static RootCommand Build(CliConsole console)
        {
            var root = new RootCommand("bpfmap: inspect and change eBPF maps (bpftool map grammar, batch-fast dumps)");
            var shared = new SharedOptions();
            foreach (Option o in shared.All)
            {
                root.Options.Add(o);
            }

            AddWordsCommand(root, shared, console, "show", "Show maps: all, or the ones MAP names (id N | pinned PATH | name NAME)", (o, w) => new LifecycleCommands(console, o).Show(w), "list");
            AddWordsCommand(root, shared, console, "dump", "Print every entry of MAP (batched, streaming)", (o, w) => new DumpCommands(console, o).Dump(w, drain: false));
            AddWordsCommand(root, shared, console, "lookup", "Print the entry of one key", (o, w) => new ElementCommands(console, o).Lookup(w));
            AddWordsCommand(root, shared, console, "getnext", "Print the key after DATA (or the first key)", (o, w) => new ElementCommands(console, o).GetNext(w));
            AddWordsCommand(root, shared, console, "update", "Create or replace an entry (map-in-map: value MAP)", (o, w) => new ElementCommands(console, o).Update(w));
            AddWordsCommand(root, shared, console, "delete", "Delete an entry", (o, w) => new ElementCommands(console, o).Delete(w));
            AddWordsCommand(root, shared, console, "create", "Create a map and pin it at FILE", (o, w) => new LifecycleCommands(console, o).Create(w));
            AddWordsCommand(root, shared, console, "pin", "Pin MAP at FILE on a bpffs mount", (o, w) => new LifecycleCommands(console, o).Pin(w));
            AddWordsCommand(root, shared, console, "freeze", "Make MAP read-only for syscalls", (o, w) => new LifecycleCommands(console, o).Freeze(w));
            AddWordsCommand(root, shared, console, "drain", "Print and delete every entry of MAP (BPF_MAP_LOOKUP_AND_DELETE_BATCH)", (o, w) => new DumpCommands(console, o).Dump(w, drain: true));
            AddQueueCommand(root, shared, console, "peek", "Print the head of a queue or the top of a stack; bloom filter: exit 0 if it may hold VALUE", (q, w) => q.Peek(w));
            AddQueueCommand(root, shared, console, "push", "Push VALUE onto a queue or stack (exist: drop the oldest when full), or add it to a bloom filter", (q, w) => q.Push(w, "push"));
            AddQueueCommand(root, shared, console, "pop", "Remove and print the head of a queue or the top of a stack", (q, w) => q.Pop(w, "pop"));
            AddQueueCommand(root, shared, console, "enqueue", "Push VALUE onto a queue (push for queues)", (q, w) => q.Push(w, "enqueue"));
            AddQueueCommand(root, shared, console, "dequeue", "Remove and print the head of a queue (pop for queues)", (q, w) => q.Pop(w, "dequeue"));
            AddBtf(root, shared, console);
            AddBench(root, shared, console);
            AddWatch(root, shared, console);
            AddEventPipe(root, shared, console);
            AddDemo(root, shared, console);
            AddCompletion(root, shared, console);
            AddDrainRace(root, shared, console);
            AddExport(root, console);
            return root;
        }

        private static void AddBtf(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var btf = new Command("btf", "Show BTF objects and dump their types in bpftool's raw format (bpftool btf grammar)");
            btf.Subcommands.Add(BtfSubcommand(shared, console, "show", "Show BTF objects: all, or id N; with the programs and maps that use each", "[id N]", (b, w) => b.Show(w), "list"));
            btf.Subcommands.Add(BtfSubcommand(shared, console, "dump", "Print every type of a BTF object, or a map's key and value types, in bpftool's raw format",
                "id N | map MAP [key|value|kv|all] | file PATH [format raw]", (b, w) => b.Dump(w), alias: null));
            root.Subcommands.Add(btf);
        }

        private static Command BtfSubcommand(SharedOptions shared, CliConsole console, string name, string description, string help, Func<BtfCommands, IReadOnlyList<string>, ExitCode> run, string? alias)
        {
            var words = new Argument<string[]>("words") { Arity = ArgumentArity.ZeroOrMore, HelpName = help, Description = "MAP := id N | pinned PATH | name NAME" };
            words.CompletionSources.Add(ctx => Completions.ForBtfWords(name, ctx.ParseResult.GetValue(words) ?? [], ctx.WordToComplete));
            var cmd = new Command(name, description) { words };
            if (alias is not null)
            {
                cmd.Aliases.Add(alias);
            }

            cmd.SetAction(parse => CommandRunner.Execute(console, () => ReadOptions(parse, shared), o => run(new BtfCommands(console, o), parse.GetValue(words) ?? [])));
            return cmd;
        }

        private static void AddWatch(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var words = MapWords("watch");
            var interval = new Option<double>("--interval") { Description = "Seconds between ticks", DefaultValueFactory = _ => 1.0 };
            var count = new Option<int>("--count") { Description = "Stop after N ticks (default: until Ctrl+C)" };
            var drain = new Option<bool>("--drain") { Description = "Drain the map each tick (counts since the last tick) instead of dumping it" };
            var cmd = new Command("watch", "Live table of MAP's top keys by rate, with per-key deltas and totals") { words, interval, count, drain };
            cmd.SetAction(p =>
            {
                return CommandRunner.Execute(console, () => ReadOptions(p, shared), o => new WatchCommand(console, o).Run(p.GetValue(words) ?? [], new WatchCommandSettings(p.GetValue(interval), p.GetValue(count), p.GetValue(drain))));
            });
            root.Subcommands.Add(cmd);
        }

        private static void AddEventPipe(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var words = MapWords("event_pipe");
            var count = new Option<long>("--count") { Description = "Stop after N events (default: until Ctrl+C)" };
            var seconds = new Option<double>("--seconds") { Description = "Stop after S seconds" };
            var type = new Option<string>("--type") { Description = "Format records by this BTF type of the map or of a program that uses it (event, 'struct event')" };
            var pages = new Option<int>("--pages") { Description = "Data pages per perf ring, a power of two", DefaultValueFactory = _ => EventPipeSettings.DefaultPages };
            var cmd = new Command("event_pipe", "Print the records of a perf event array (bpftool map event_pipe) or a ring buffer as they arrive; a summary on stderr at the end") { words, count, seconds, type, pages };
            cmd.SetAction(p => CommandRunner.Execute(console, () => ReadOptions(p, shared), o =>
                new EventPipeCommand(console, o).Run(p.GetValue(words) ?? [], new EventPipeSettings(p.GetValue(count), p.GetValue(seconds), p.GetValue(type), p.GetValue(pages)))));
            root.Subcommands.Add(cmd);
        }

        private static void AddDemo(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var seconds = new Option<double>("--seconds") { Description = "How long to watch", DefaultValueFactory = _ => 6.0 };
            var inProcess = new Option<bool>("--in-process") { Description = "Run on the in-process engine even where bpf() works" };
            var cmd = new Command("demo", "BPF programs count into a double-buffered map while watch swap-drains it; ends with produced = drained + remaining") { seconds, inProcess };
            cmd.SetAction(p =>
            {
                return CommandRunner.Execute(console, () => ReadOptions(p, shared), o => new DemoCommand(console, o, () => DemoWorkloads.Create(p.GetValue(inProcess))).Run(p.GetValue(seconds)));
            });
            root.Subcommands.Add(cmd);
        }

        private static void AddDrainRace(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var seconds = new Option<double>("--seconds") { Description = "Seconds of writing per drain method", DefaultValueFactory = _ => 2.0 };
            var writers = new Option<int>("--writers") { Description = "BPF writer threads", DefaultValueFactory = _ => Math.Max(2, Environment.ProcessorCount) };
            var perCpu = new Option<bool>("--percpu-maps") { Description = "Count into percpu_hash maps instead of hash maps" };
            var cmd = new Command("drain-race", "BPF writers against each drain method: how many increments does each lose?") { seconds, writers, perCpu };
            cmd.SetAction(p => CommandRunner.Execute(console, () => ReadOptions(p, shared), o =>
                new DrainRaceCommand(console, o).Run(new DrainRaceSettings(p.GetValue(seconds), p.GetValue(writers), p.GetValue(perCpu)))));
            root.Subcommands.Add(cmd);
        }

        private static void AddExport(RootCommand root, CliConsole console)
        {
            var config = new Option<string>("--config") { Description = "Exporter configuration file (JSON); see docs/exporter.md" };
            var cmd = new Command("export", "Publish map contents as Prometheus (127.0.0.1:9435/metrics) and OTLP metrics until Ctrl+C; other options (--listen, --interval, --otlp-endpoint, --maps:0:map ...) override the file") { config };
            cmd.TreatUnmatchedTokensAsErrors = false;
            // The exporter's own exit codes pass through; failing to start it is one line and exit 13, as any command's error.
            cmd.SetAction(p => CommandRunner.Execute(console, () => new GlobalOptions(), _ => (ExitCode)ExportCommand.Run(console, p.GetValue(config), p.UnmatchedTokens)));
            root.Subcommands.Add(cmd);
        }

        private static void AddCompletion(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var shell = new Argument<string>("shell") { Description = "bash or zsh" };
            shell.CompletionSources.Add("bash", "zsh");
            var cmd = new Command("completion", "Print a shell completion script: eval \"$(bpfmap completion bash)\"") { shell };
            cmd.SetAction(p => CommandRunner.Execute(console, () => ReadOptions(p, shared), o =>
            {
                console.Stdout.Write(System.Text.Encoding.UTF8.GetBytes(CompletionScript.For(p.GetValue(shell)!)));
                return ExitCode.Ok;
            }));
            root.Subcommands.Add(cmd);
        }

        private static Argument<string[]> MapWords(string command)
        {
            string help = command switch
            {
                "show" => "[MAP]",
                "lookup" or "delete" => "MAP key DATA",
                "getnext" => "MAP [key DATA]",
                "update" => "MAP key DATA value VALUE [any|exist|noexist]",
                "create" => "FILE type TYPE key N value N entries N name NAME [flags F] [inner_map MAP]",
                "pin" => "MAP FILE",
                "peek" => "MAP (bloom_filter: MAP value VALUE)",
                "push" or "enqueue" => "MAP value VALUE [any|exist]",
                "event_pipe" => "MAP [cpu N index M]",
                _ => "MAP",
            };
            var words = new Argument<string[]>("words") { Arity = ArgumentArity.ZeroOrMore, HelpName = help, Description = "MAP := id N | pinned PATH | name NAME" };
            words.CompletionSources.Add(ctx => Completions.ForWords(command, ctx.ParseResult.GetValue(words) ?? [], ctx.WordToComplete));
            return words;
        }

        private static void AddBench(RootCommand root, SharedOptions shared, CliConsole console)
        {
            var entries = new Option<int>("--entries") { Description = "Entries in the benchmark hash map", DefaultValueFactory = _ => 1_000_000 };
            var runs = new Option<int>("--runs") { Description = "Timed runs per tool; the median is shown", DefaultValueFactory = _ => 3 };
            var bpftool = new Option<string>("--bpftool") { Description = "The bpftool to compare with", DefaultValueFactory = _ => "bpftool" };
            var keep = new Option<bool>("--keep") { Description = "Leave the benchmark maps pinned under /sys/fs/bpf" };
            var scenario = new Option<BenchScenario>("--scenario") { Description = "Maps to dump: u64 (u32 keys, u64 values; dump and drain), btf (16-byte flow keys, 40-byte flow values, with BTF), startup (show), lookup (engine vs syscall), or all", DefaultValueFactory = _ => BenchScenario.All };
            var output = new Option<BenchOutput>("--output") { Description = "Where the timed runs write: null (/dev/null; one more run per tool through a pipe compares the bytes) or pipe (a pipe bench reads and hashes)", DefaultValueFactory = _ => BenchOutput.Null };
            var aot = new Option<string>("--aot") { Description = "A NativeAOT bpfmap to time too (the installed tool's binary)" };
            var fallback = new Option<string>("--fallback") { Description = "The any tool package's bpfmap.dll to time too (run under dotnet)" };
            var cmd = new Command("bench", "Time bpfmap -j dump and drain against bpftool and C batch loops on maps it creates and fills, and show's start-up") { entries, runs, bpftool, keep, scenario, output, aot, fallback };
            cmd.SetAction(p =>
            {
                return CommandRunner.Execute(console, () => ReadOptions(p, shared), o => new BenchCommand(console).Run(new BenchSettings(p.GetValue(entries), p.GetValue(runs), p.GetValue(bpftool)!, p.GetValue(keep), p.GetValue(scenario), p.GetValue(output), p.GetValue(aot), p.GetValue(fallback))));
            });
            root.Subcommands.Add(cmd);
        }

        private static void AddQueueCommand(RootCommand root, SharedOptions shared, CliConsole console, string name, string description, Func<QueueCommands, IReadOnlyList<string>, ExitCode> run)
            => AddWordsCommand(root, shared, console, name, description, (o, w) => run(new QueueCommands(console, o), w), alias: null);

        private static void AddWordsCommand(RootCommand root, SharedOptions shared, CliConsole console, string name, string description, Func<GlobalOptions, IReadOnlyList<string>, ExitCode> run, string? alias = null)
        {
            var words = MapWords(name);
            var cmd = new Command(name, description) { words };
            if (alias is not null)
            {
                cmd.Aliases.Add(alias);
            }

            cmd.SetAction(parse =>
            {
                return CommandRunner.Execute(console, () => ReadOptions(parse, shared), o => run(o, parse.GetValue(words) ?? []));
            });
            root.Subcommands.Add(cmd);
        }

        private static GlobalOptions ReadOptions(ParseResult p, SharedOptions o)
        {
            string? keyPrefix = p.GetValue(o.KeyPrefixOption);
            string? format = p.GetValue(o.FormatOption);
            if (format is not null and not "json" && (p.GetValue(o.JsonOption) || p.GetValue(o.PrettyOption)))
            {
                throw new CliException(ExitCode.Usage, $"-j/-p and --format {format} conflict: -j is --format json");
            }

            return new GlobalOptions
            {
                Json = p.GetValue(o.JsonOption),
                Pretty = p.GetValue(o.PrettyOption),
                Bpffs = p.GetValue(o.BpffsOption),
                Format = p.GetValue(o.FormatOption) switch
                {
                    "table" => OutputFormat.Table,
                    "json" => OutputFormat.Json,
                    "ndjson" => OutputFormat.Ndjson,
                    "csv" => OutputFormat.Csv,
                    "plain" => OutputFormat.Plain,
                    _ => OutputFormat.Auto,
                },
                PerCpu = p.GetValue(o.PerCpuOption) switch
                {
                    "sum" => PerCpuMode.Sum,
                    "min" => PerCpuMode.Min,
                    "max" => PerCpuMode.Max,
                    "avg" => PerCpuMode.Avg,
                    _ => PerCpuMode.EachCpu,
                },
                Sort = p.GetValue(o.SortOption) switch
                {
                    null => SortOrder.None,
                    "key" => SortOrder.Key,
                    "value" => SortOrder.Value,
                    _ => SortOrder.Field,
                },
                SortField = p.GetValue(o.SortOption) is { } field and not ("key" or "value") ? field : null,
                Raw = p.GetValue(o.RawOption),
                Top = NonNegative(p.GetValue(o.TopOption), "--top"),
                KeyPrefix = keyPrefix is null ? null : ByteData.ParseHexString(keyPrefix),
            };
        }

        private static int NonNegative(int value, string option)
            => value >= 0 ? value : throw new CliException(ExitCode.Usage, $"{option} {value}: must be 0 (all) or more");

        private static Option<string> SortBy()
        {
            var o = new Option<string>("--sort") { Description = "Sort a dump by key (ascending), value (descending) or, for maps with BTF, a field such as value.bytes; holds entries in memory", Recursive = true };
            o.Validators.Add(r =>
            {
                // Field columns are named key…, value… or cpuN…; whether the field exists is known once the map is open.
                string? v = r.GetValueOrDefault<string>();
                if (v is not null && !System.Text.RegularExpressions.Regex.IsMatch(v, @"^(key|value|cpu[0-9]+)([.\[].*)?$"))
                {
                    r.AddError($"Argument '{v}' not recognized. --sort takes key, value, or a BTF field such as value.bytes");
                }
            });
            return o;
        }

        /// <summary>The shared options, created per command tree (a tree is not shared between threads).</summary>
        private sealed class SharedOptions
        {
            public readonly Option<bool> JsonOption = new("--json", "-j") { Description = "JSON output, as bpftool -j", Recursive = true };
            public readonly Option<bool> PrettyOption = new("--pretty", "-p") { Description = "Indented JSON (implies --json)", Recursive = true };
            public readonly Option<bool> BpffsOption = new("--bpffs", "-f") { Description = "show: also list where each map is pinned", Recursive = true };
            public readonly Option<string> FormatOption = new Option<string>("--format") { Description = "Output format (default: table on a terminal, bpftool text otherwise)", Recursive = true }
                .AcceptOnlyFromAmong("table", "json", "ndjson", "csv", "plain");

            public readonly Option<string> PerCpuOption = new Option<string>("--percpu") { Description = "Per-CPU values: every CPU (raw) or one number", Recursive = true, DefaultValueFactory = _ => "raw" }
                .AcceptOnlyFromAmong("raw", "sum", "min", "max", "avg");

            public readonly Option<string> SortOption = SortBy();

            public readonly Option<bool> RawOption = new("--raw") { Description = "Show bytes even for maps with BTF", Recursive = true };

            public readonly Option<int> TopOption = new("--top")
            {
                Description = "Only the first N entries after sorting (by value unless --sort key); holds at most 2N entries",
                Recursive = true,
                CustomParser = r =>
                {
                    string text = r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Join(' ', r.Tokens.Select(t => t.Value));
                    if (int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int n))
                    {
                        return n;
                    }

                    r.AddError($"--top '{text}' is not a whole number; give N, as in --top 10");
                    return 0;
                },
            };
            public readonly Option<string> KeyPrefixOption = new("--key-prefix") { Description = "Only keys starting with these bytes (hex, e.g. 0a00)", Recursive = true };

            public Option[] All => [JsonOption, PrettyOption, BpffsOption, FormatOption, PerCpuOption, SortOption, TopOption, KeyPrefixOption, RawOption];
        }
    }
}
