using System.Globalization;
using BpfMaps.Tests.SpanSweep;

// The child process of tests/BpfMaps.Tests/Safety/SpanBoundsTests: it makes the calls that may write
// out of bounds, so that a crash ends this process and is counted by the test instead of ending it.
//
//   spans [--start N] [--end M]   every public method taking Span<T>/ReadOnlySpan<T>, short spans and large
//                       counts; calls N to M-1 of the plan (the test restarts the sweep after a crash)
//   nul                 every public path/name string with an embedded NUL
//
// BPFMAPS_SWEEP_CRASH_AT=i,j,... makes calls i, j, ... abort the process on purpose, to test that the test counts a
// crash and carries on.
//
// Output, one tab-separated record a line:
//   KERNEL  available | unavailable <reason>     TARGET <name>
//   SKIP <member> <reason>     NOTARGET <member> <reason>     NOCONSUMER <property> <reason>
//   METHOD <member> <calls>    PLAN <calls>
//   CALL <i> <member> <target> <spans and counts>             (before the call)
//   DONE <i> <exception type|-> <is ArgumentException 0|1> <message|returned ...> <writes outside the spans|->
//   NUL <member> <param> <target> <type> <isArg> <message> <control type> <control isArg> <control message>
//   END
if (args.Length == 0 || args[0] is not ("spans" or "nul"))
{
    Console.Error.WriteLine("usage: BpfMaps.Tests.SpanSweep spans [--start N] [--end M] | nul");
    return 2;
}

int Option(string name, int otherwise)
{
    int at = Array.IndexOf(args, name);
    return at > 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : otherwise;
}

int start = Option("--start", 0);
int end = Option("--end", int.MaxValue);
int[] crashAt = (Environment.GetEnvironmentVariable("BPFMAPS_SWEEP_CRASH_AT") ?? "")
    .Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var output = new Output();
using TargetSet set = TargetSet.Create();
if (set.KernelUnavailable is { } why)
{
    output.Line("KERNEL", "unavailable", why);
}
else
{
    output.Line("KERNEL", "available");
}

foreach (Target t in set.Targets)
{
    output.Line("TARGET", t.Name);
}

return args[0] == "spans" ? new SpanSweep(set, output).Run(start, end, crashAt) : new NulSweep(set, output).Run();
