using System.Text;
using System.Text.RegularExpressions;
using BpfMaps.Programs;

namespace BpfMaps.Tests.Safety;

/// <summary>
/// The public tier's first promise is memory safety: a public method that hands a span and a count to
/// the kernel or the in-process engine checks one against the other first. These tests find every public
/// method of BpfMaps and BpfMaps.InProcess that takes a span (by reflection, so a new one is covered
/// without being listed), call it in a child process with short spans and large counts, and require an
/// ArgumentException naming both sizes before anything is written outside the spans.
/// </summary>
public partial class SpanBoundsTests
{
    // Methods that take spans whose length is itself the size the kernel is told, so there is no second
    // size to check the span against and no exception to require. They are still swept: a write outside
    // the span or a crash fails the test for them as for every other method.
    private static readonly Dictionary<string, string> s_noSizeToCheck = new()
    {
        ["BpfProgram.Load(ProgramType, ReadOnlySpan<Instruction>, string, ProgramLoadOptions)"] =
            "the instructions are the program: insn_cnt is their count",
        ["BtfObject.Load(ReadOnlySpan<byte>)"] =
            "the blob is the BTF: btf_size is its length",
        ["BpfProgram.TestRun(ReadOnlySpan<byte>, int)"] =
            "test-run input: data_size_in is its length",
        ["BpfProgram.TestRun(ReadOnlySpan<byte>, Span<byte>, int)"] =
            "data_size_in and data_size_out are the spans' lengths; a short output is ENOSPC, not a write past it",
        ["BpfProgram.TestRunOrErrno(ReadOnlySpan<byte>, Span<byte>, int, out TestRunResult)"] =
            "as TestRun: the kernel is told both lengths",
        ["BpfMap<uint, ulong>.DeleteBatch(ReadOnlySpan<uint>)"] =
            "the count is keys.Length, and TKey's size was checked against key_size when the view was made",
        ["PerCpuBpfMap<uint, ulong>.DeleteBatch(ReadOnlySpan<uint>)"] =
            "the count is keys.Length, and TKey's size was checked against key_size when the view was made",
        ["IBtfValueSink.WriteString(ReadOnlySpan<byte>)"] =
            "copies the span into the sink's own growing output: the span's length is the only size",
        ["BtfJsonSink.WriteString(ReadOnlySpan<byte>)"] =
            "copies the span into the sink's own growing output: the span's length is the only size",
        ["BtfTextSink.WriteString(ReadOnlySpan<byte>)"] =
            "copies the span into the sink's own growing output: the span's length is the only size",
        ["BtfJsonWriterSink.WriteString(ReadOnlySpan<byte>)"] =
            "hands the span to Utf8JsonWriter, which copies it: the span's length is the only size",
        ["UserRingBuffer.TryWrite(ReadOnlySpan<byte>)"] =
            "the record is the span: its length is the size reserved, and one past MaxRecordSize is an ArgumentOutOfRangeException",
        ["UserRingBuffer.Write(ReadOnlySpan<byte>)"] =
            "the record is the span: its length is the size reserved, and one past MaxRecordSize is an ArgumentOutOfRangeException",
        ["InProcessRingBuffer.TryOutput(BpfMap, ReadOnlySpan<byte>, RingBufferWakeup)"] =
            "the record is the span (bpf_ringbuf_output's size is its length); one that never fits is an ArgumentOutOfRangeException",
        ["IRecordHandler.OnRecord(ReadOnlySpan<byte>)"] =
            "the caller's own handler: the library hands it each record as a span and it hands nothing on",
        ["BpfProgram.TestRunOnCpu(int, ReadOnlySpan<byte>, int)"] =
            "test-run input, as TestRun: data_size_in is its length",
        ["BpfProgram.TestRunOnCpuOrErrno(int, ReadOnlySpan<byte>, int, out TestRunResult)"] =
            "test-run input, as TestRun: data_size_in is its length",
        ["SequencedEvent.TryRead(ReadOnlySpan<byte>, out SequencedEvent)"] =
            "a parser of one record: it reads within the span, and a short one is false",
        ["BtfSpec.Parse(ReadOnlySpan<byte>, BtfSpec)"] =
            "the blob is copied whole; its length is the only size, and a short one is a BtfException naming the offset",
    };

    // Members with a path/name string that never reaches the kernel or a file system, so a NUL in it
    // is no hazard and need not be refused.
    private static readonly Dictionary<string, string> s_nulHarmless = new()
    {
        ["MapTypeExtensions.TryParseKernelName(string, out MapType)"] = "a parser: a name with a NUL matches no map type and it returns false",
        ["MapInfo.new(MapType, uint, int, int, int, MapFlags, string, uint, uint, uint, uint, ulong)"] = "a record of what the kernel reported; it hands the name to nothing",
        ["MapInfo.new(MapType, uint, int, int, int, MapFlags, string, uint, uint, uint, uint, ulong, uint)"] = "a record of what the kernel reported; it hands the name to nothing",
        ["BtfObjectInfo.new(uint, string, int, bool)"] = "a record of what the kernel reported about a BTF object",
        ["ProgramInfo.new(uint, ProgramType, string, uint)"] = "a record of what the kernel reported about a program; it hands the name to nothing",
        ["InstructionBuilder.LoadMap(Register, SafeHandle, string)"] = "the name only labels messages about the reference; the kernel gets the descriptor",
        ["MapReference.new(int, SafeHandle, string)"] = "a plain record; the name only labels messages about the reference",
        ["BtfBuilderMember.new(string, uint, uint, int)"] = "a plain record; AddComposite refuses a NUL in the name when it writes it",
        ["BtfSpec.FindType(string, BtfKind)"] = "a lookup: no BTF name holds a NUL, so it finds nothing",
        ["BtfSpec.FindTypes(string)"] = "a lookup: no BTF name holds a NUL, so it finds nothing",
        ["BtfSpec.TryFindType(string, BtfKind, out BtfType)"] = "a lookup: no BTF name holds a NUL, so it finds nothing",
        ["MapLayout.CheckKey(ReadOnlySpan<byte>, string)"] = "paramName only labels the exception",
        ["MapLayout.CheckValue(int, string)"] = "paramName only labels the exception",
        ["MapSizeMismatchException.new(string, string, int, int)"] = "paramName only labels the exception",
    };

    [Fact]
    public void Short_spans_are_refused_before_anything_is_written_outside_them()
    {
        SweepChild log = SweepChild.Run("spans");
        var report = new StringBuilder();
        var failures = new List<string>();
        Describe(log, report);

        failures.AddRange(log.Failures.Select(f => $"SWEEP: {f}"));
        Assert.True(log.Planned > 0, $"the sweep planned no calls{Environment.NewLine}{string.Join(Environment.NewLine, failures)}{Environment.NewLine}{report}");
        foreach (SweepCall c in log.Calls.Values)
        {
            if (c.Crash is not null)
            {
                failures.Add($"CRASH {c}");
            }
            else if (c.WritesOutside is not null)
            {
                failures.Add($"WROTE OUTSIDE THE SPANS {c}");
            }
        }

        foreach (var (member, reason) in log.NoTarget)
        {
            if (log.KernelUnavailable is null)
            {
                failures.Add($"NOT SWEPT {member}: {reason}");
            }
        }

        foreach (string member in log.Methods)
        {
            List<SweepCall> calls = log.Calls.Values.Where(c => c.Member == member).ToList();
            if (s_noSizeToCheck.ContainsKey(member) || calls.Any(NamesTwoSizes))
            {
                continue;
            }

            // Without bpf() only in-process targets run; a method none of them can serve (Push on a hash
            // map) says so with InvalidOperationException or NotSupportedException and is not exercised.
            if (log.KernelUnavailable is not null && calls.All(c => c.Exception is "System.InvalidOperationException" or "System.NotSupportedException"))
            {
                report.AppendLine($"not exercised without bpf(): {member}");
                continue;
            }

            failures.Add($"NO SIZE CHECK {member}: no call ended in an ArgumentException naming two sizes; the calls:{Environment.NewLine}"
                + string.Join(Environment.NewLine, Summarize(calls)));
        }

        foreach (string stale in s_noSizeToCheck.Keys.Where(k => !log.Methods.Contains(k)))
        {
            report.AppendLine($"allow-list entry matches no swept method (no longer public, or renamed): {stale}");
        }

        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.True(failures.Count == 0,
            $"{failures.Count} problems in {log.Calls.Count} calls over {log.Methods.Count} methods:{Environment.NewLine}"
            + string.Join(Environment.NewLine, failures) + Environment.NewLine + report);
    }

    [Fact]
    public void Paths_and_names_with_an_embedded_nul_are_refused()
    {
        SweepChild log = SweepChild.Run("nul");
        var report = new StringBuilder();
        var failures = new List<string>();
        if (log.KernelUnavailable is not null)
        {
            report.AppendLine($"bpf() unavailable, kernel targets left out: {log.KernelUnavailable}");
        }

        failures.AddRange(log.Failures.Select(f => $"SWEEP: {f}"));
        failures.AddRange(log.NoConsumer.Select(p => $"NOT SWEPT {p.Property}: {p.Reason}"));
        foreach (var (member, reason) in log.NoTarget)
        {
            if (log.KernelUnavailable is null)
            {
                failures.Add($"NOT SWEPT {member}: {reason}");
            }
            else
            {
                report.AppendLine($"not swept: {member}: {reason}");
            }
        }

        foreach (var (member, reason) in log.Skipped)
        {
            report.AppendLine($"skipped: {member}: {reason}");
        }

        Assert.NotEmpty(log.Nul);
        foreach (var group in log.Nul.GroupBy(n => (n.Member, n.Param)))
        {
            if (s_nulHarmless.TryGetValue(group.Key.Member, out string? harmless))
            {
                report.AppendLine($"NUL allowed: {group.Key.Member}: {harmless}");
                continue;
            }

            // Refused: an ArgumentException for the NUL where the same call without it got none.
            if (group.Any(n => n.NulIsArgument && !n.ControlIsArgument))
            {
                continue;
            }

            // Without bpf() a call may fail the same way with and without the NUL (EPERM from the kernel,
            // Pin on an in-process map): when every call is like that, the NUL was not exercised. A call
            // that returned with the NUL in its string took it, bpf() or not.
            if (log.KernelUnavailable is not null && group.All(n => n.NulException != "-" && n.NulException == n.ControlException && !n.NulIsArgument))
            {
                report.AppendLine($"not exercised without bpf(): {group.Key.Member}");
                continue;
            }

            failures.Add($"NUL ACCEPTED {group.Key.Member} ({group.Key.Param}):{Environment.NewLine}"
                + string.Join(Environment.NewLine, group.Select(n => $"    {n}")));
        }

        foreach (NulCall n in log.Nul)
        {
            report.AppendLine($"  {n}");
        }

        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.True(failures.Count == 0, $"{failures.Count} problems:{Environment.NewLine}" + string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void A_crash_in_the_child_is_counted_and_the_sweep_goes_on()
    {
        // Calls 2 and 5 abort the child on purpose; the harness must charge each to its call and resume.
        SweepChild log = SweepChild.Run("spans", end: 8, crashAt: "2,5");
        Assert.Empty(log.Failures);
        Assert.Equal(3, log.Runs);
        Assert.Equal(Enumerable.Range(0, 8), log.Calls.Keys);
        foreach (SweepCall c in log.Calls.Values)
        {
            if (c.Index is 2 or 5)
            {
                Assert.NotNull(c.Crash);
                Assert.Contains("signal", c.Crash);
            }
            else
            {
                Assert.Null(c.Crash);
                Assert.NotNull(c.Message);
            }
        }
    }

    // The size check: an ArgumentException (not a null argument) whose message holds at least two
    // numbers, the size it got and the size it needed.
    private static bool NamesTwoSizes(SweepCall c)
        => c.IsArgumentException && c.Exception != "System.ArgumentNullException" && Numbers().Count(c.Message ?? "") >= 2;

    [GeneratedRegex(@"\d+")]
    private static partial Regex Numbers();

    // One line per target and outcome, with the span shapes that led to it.
    private static IEnumerable<string> Summarize(List<SweepCall> calls)
        => calls.GroupBy(c => (c.Target, c.Outcome))
            .Select(g => $"    {g.Key.Target}: {g.Key.Outcome}  [{string.Join(" | ", g.Select(c => c.Variant))}]"
                + (g.Any(c => c.WritesOutside is not null) ? $"  WROTE OUTSIDE: {g.First(c => c.WritesOutside is not null).WritesOutside}" : ""));

    private static void Describe(SweepChild log, StringBuilder report)
    {
        report.AppendLine(log.KernelUnavailable is null
            ? $"bpf() available: {log.Targets.Count} targets"
            : $"bpf() unavailable, kernel targets left out ({log.Targets.Count} in-process targets run): {log.KernelUnavailable}");
        report.AppendLine($"{log.Methods.Count} methods, {log.Planned} calls, {log.Runs} child process(es)");
        foreach (var (member, reason) in log.Skipped)
        {
            report.AppendLine($"skipped: {member}: {reason}");
        }

        foreach (var (member, reason) in log.NoTarget)
        {
            report.AppendLine($"not swept: {member}: {reason}");
        }

        foreach (var (member, reason) in s_noSizeToCheck)
        {
            report.AppendLine($"no size check required: {member}: {reason}");
        }
    }
}
