using BenchmarkDotNet.Running;
using BpfMaps.Benchmarks.SideBySide;

// `side-by-side [--entries N]` prints one-run ratios against a raw C loop and get_next_key;
// `btf-parse [--rounds N --warmup N --collect]` times BtfSpec against libbpf's btf__parse;
// `drain-race [...]` measures increments lost by each drain method under live BPF writers;
// anything else goes to BenchmarkDotNet (e.g. `--filter '*Dump*'`).
if (args.Length > 0 && args[0] == "side-by-side")
{
    return SideBySideRunner.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "btf-parse")
{
    return BtfParseRunner.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "drain-race")
{
    return BpfMaps.Benchmarks.DrainRaceRunner.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(SideBySideRunner).Assembly).Run(args);
return 0;
