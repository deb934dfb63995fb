namespace BpfMaps.Programs;

/// <summary>What BPF_PROG_TEST_RUN reports.</summary>
/// <param name="ReturnValue">The program's return value (R0) of the last run.</param>
/// <param name="DurationNs">Average duration of one run in nanoseconds, as the kernel measured it.</param>
/// <param name="DataSizeOut">Bytes of output packet data (the packet after the program ran).</param>
public readonly record struct TestRunResult(uint ReturnValue, uint DurationNs, int DataSizeOut)
{
    /// <summary>The average duration of one run.</summary>
    public TimeSpan Duration => TimeSpan.FromTicks(DurationNs / 100);
}
