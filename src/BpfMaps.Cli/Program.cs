using System.CommandLine;
using System.CommandLine.Invocation;
using BpfMaps.Cli;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Demo;
using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;

return BpfmapCli.Run(args, CliConsole.System());

namespace BpfMaps.Cli
{
    /// <summary>
    /// The command tree: parses options into <see cref="GlobalOptions"/> and hands each command's words
    /// to its worker. Nothing below this class sees System.CommandLine types.
    /// </summary>
    internal static class BpfmapCli
    {
        private static readonly Option<bool> JsonOption = new("--json", "-j") { Description = "JSON output, as bpftool -j", Recursive = true };
        private static readonly Option<bool> PrettyOption = new("--pretty", "-p") { Description = "Indented JSON (implies --json)", Recursive = true };
        private static readonly Option<bool> BpffsOption = new("--bpffs", "-f") { Description = "show: also list where each map is pinned", Recursive = true };
        private static readonly Option<string> FormatOption = new Option<string>("--format") { Description = "Output format (default: table on a terminal, bpftool text otherwise)", Recursive = true }
            .AcceptOnlyFromAmong("table", "json", "ndjson", "csv", "plain");

        private static readonly Option<string> PerCpuOption = new Option<string>("--percpu") { Description = "Per-CPU values: every CPU (raw) or one number", Recursive = true, DefaultValueFactory = _ => "raw" }
            .AcceptOnlyFromAmong("raw", "sum", "min", "max", "avg");

        private static readonly Option<string> SortOption = new Option<string>("--sort") { Description = "Sort a dump by key (ascending) or value (descending); holds entries in memory", Recursive = true }
            .AcceptOnlyFromAmong("key", "value");

        private static readonly Option<int> TopOption = new("--top") { Description = "Only the first N entries after sorting (by value unless --sort key); holds at most 2N entries", Recursive = true };
        private static readonly Option<string> KeyPrefixOption = new("--key-prefix") { Description = "Only keys starting with these bytes (hex, e.g. 0a00)", Recursive = true };

        /// <summary>Parses and runs a command line.</summary>
        /// <param name="args">The arguments.</param>
        /// <param name="console">The console.</param>
        /// <returns>The exit code.</returns>
        public static int Run(string[] args, CliConsole console)
        {
            RootCommand root = Build(console);
            ParseResult parse = root.Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
            {
                // One line: the most specific error (an unknown token says more than "command missing").
                var error = parse.Errors.FirstOrDefault(e => e.Message.Contains("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
                console.Stderr.WriteLine($"bpfmap: {error.Message} (see bpfmap --help)");
                console.Stderr.Flush();
                return (int)ExitCode.Usage;
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
            foreach (Option o in new Option[] { JsonOption, PrettyOption, BpffsOption, FormatOption, PerCpuOption, SortOption, TopOption, KeyPrefixOption })
            {
                root.Options.Add(o);
            }

            AddMapCommand(root, console, "show", "Show maps: all, or MAP (id N | pinned PATH | name NAME)", (m, w) => m.Show(w), "list");
            AddMapCommand(root, console, "dump", "Print every entry of MAP (batched, streaming)", (m, w) => m.Dump(w, drain: false));
            AddMapCommand(root, console, "lookup", "lookup MAP key DATA", (m, w) => m.Lookup(w));
            AddMapCommand(root, console, "getnext", "getnext MAP [key DATA]", (m, w) => m.GetNext(w));
            AddMapCommand(root, console, "update", "update MAP key DATA value VALUE [any|exist|noexist]", (m, w) => m.Update(w));
            AddMapCommand(root, console, "delete", "delete MAP key DATA", (m, w) => m.Delete(w));
            AddMapCommand(root, console, "create", "create FILE type TYPE key N value N entries N name NAME [flags F] [inner_map MAP]", (m, w) => m.Create(w));
            AddMapCommand(root, console, "pin", "pin MAP FILE", (m, w) => m.Pin(w));
            AddMapCommand(root, console, "freeze", "freeze MAP: make it read-only for syscalls", (m, w) => m.Freeze(w));
            AddMapCommand(root, console, "drain", "Print and delete every entry of MAP (BPF_MAP_LOOKUP_AND_DELETE_BATCH)", (m, w) => m.Dump(w, drain: true));
            AddBench(root, console);
            AddWatch(root, console);
            AddDemo(root, console);
            return root;
        }

        private static void AddWatch(RootCommand root, CliConsole console)
        {
            var words = MapWords("watch");
            var interval = new Option<double>("--interval") { Description = "Seconds between ticks", DefaultValueFactory = _ => 1.0 };
            var count = new Option<int>("--count") { Description = "Stop after N ticks (default: until Ctrl+C)" };
            var drain = new Option<bool>("--drain") { Description = "Drain the map each tick (counts since the last tick) instead of dumping it" };
            var cmd = new Command("watch", "Live table of MAP's top keys by rate, with per-key deltas and totals") { words, interval, count, drain };
            cmd.SetAction(p =>
            {
                GlobalOptions o = ReadOptions(p);
                return CommandRunner.Execute(console, o, () => new WatchCommand(console, o).Run(p.GetValue(words) ?? [], new WatchCommandSettings(p.GetValue(interval), p.GetValue(count), p.GetValue(drain))));
            });
            root.Subcommands.Add(cmd);
        }

        private static void AddDemo(RootCommand root, CliConsole console)
        {
            var seconds = new Option<double>("--seconds") { Description = "How long to watch", DefaultValueFactory = _ => 6.0 };
            var cmd = new Command("demo", "Writers count into a map while watch drains it; ends with produced = drained + remaining") { seconds };
            cmd.SetAction(p =>
            {
                GlobalOptions o = ReadOptions(p);
                return CommandRunner.Execute(console, o, () => new DemoCommand(console, o, DemoWorkloads.Create).Run(p.GetValue(seconds)));
            });
            root.Subcommands.Add(cmd);
        }

        private static Argument<string[]> MapWords(string command)
        {
            var words = new Argument<string[]>("words") { Arity = ArgumentArity.ZeroOrMore, Description = "MAP := id N | pinned PATH | name NAME" };
            words.CompletionSources.Add(ctx => Completions.ForWords(command, ctx.ParseResult.GetValue(words) ?? [], ctx.WordToComplete));
            return words;
        }

        private static void AddBench(RootCommand root, CliConsole console)
        {
            var entries = new Option<int>("--entries") { Description = "Entries in the benchmark hash map", DefaultValueFactory = _ => 1_000_000 };
            var runs = new Option<int>("--runs") { Description = "Timed runs per tool; the median is shown", DefaultValueFactory = _ => 3 };
            var bpftool = new Option<string>("--bpftool") { Description = "The bpftool to compare with", DefaultValueFactory = _ => "bpftool" };
            var keep = new Option<bool>("--keep") { Description = "Leave the benchmark map pinned under /sys/fs/bpf" };
            var cmd = new Command("bench", "Time bpfmap -j dump against bpftool -j map dump on a map it creates and fills") { entries, runs, bpftool, keep };
            cmd.SetAction(p =>
            {
                GlobalOptions o = ReadOptions(p);
                return CommandRunner.Execute(console, o, () => new BenchCommand(console).Run(new BenchSettings(p.GetValue(entries), p.GetValue(runs), p.GetValue(bpftool)!, p.GetValue(keep))));
            });
            root.Subcommands.Add(cmd);
        }

        private static void AddMapCommand(RootCommand root, CliConsole console, string name, string description, Func<MapCommands, IReadOnlyList<string>, ExitCode> run, string? alias = null)
        {
            var words = MapWords(name);
            var cmd = new Command(name, description) { words };
            if (alias is not null)
            {
                cmd.Aliases.Add(alias);
            }

            cmd.SetAction(parse =>
            {
                GlobalOptions options = ReadOptions(parse);
                return CommandRunner.Execute(console, options, () => run(new MapCommands(console, options), parse.GetValue(words) ?? []));
            });
            root.Subcommands.Add(cmd);
        }

        private static GlobalOptions ReadOptions(ParseResult p)
        {
            string? keyPrefix = p.GetValue(KeyPrefixOption);
            return new GlobalOptions
            {
                Json = p.GetValue(JsonOption),
                Pretty = p.GetValue(PrettyOption),
                Bpffs = p.GetValue(BpffsOption),
                Format = p.GetValue(FormatOption) switch
                {
                    "table" => OutputFormat.Table,
                    "json" => OutputFormat.Json,
                    "ndjson" => OutputFormat.Ndjson,
                    "csv" => OutputFormat.Csv,
                    "plain" => OutputFormat.Plain,
                    _ => OutputFormat.Auto,
                },
                PerCpu = p.GetValue(PerCpuOption) switch
                {
                    "sum" => PerCpuMode.Sum,
                    "min" => PerCpuMode.Min,
                    "max" => PerCpuMode.Max,
                    "avg" => PerCpuMode.Avg,
                    _ => PerCpuMode.Raw,
                },
                Sort = p.GetValue(SortOption) switch
                {
                    "key" => SortOrder.Key,
                    "value" => SortOrder.Value,
                    _ => SortOrder.None,
                },
                Top = Math.Max(0, p.GetValue(TopOption)),
                KeyPrefix = keyPrefix is null ? null : ByteData.ParseHexString(keyPrefix),
            };
        }
    }
}
