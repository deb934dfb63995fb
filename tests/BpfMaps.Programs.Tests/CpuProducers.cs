namespace BpfMaps.Programs.Tests;

/// <summary>
/// One producer per CPU: each runs an event program through test runs pinned to its CPU until it has run
/// it <c>perCpu</c> times (an EINTR counts the batch as run, as the program's own counters then say), and
/// wakes the reader when it stops. Shared by the ring buffer and perf buffer reliability tests.
/// </summary>
internal sealed class CpuProducers
{
    private const int Batch = 20_000;
    private int _running;

    public CpuProducers(BpfProgram program, byte[] packet, int cpus, long perCpu, Action wake, CancellationToken ct)
    {
        _running = cpus;
        Completion = Task.WhenAll(Enumerable.Range(0, cpus).Select(cpu => Task.Factory.StartNew(() =>
        {
            try
            {
                for (long done = 0; done < perCpu; done += Batch)
                {
                    int err = program.TestRunOnCpuOrErrno(cpu, packet, (int)Math.Min(Batch, perCpu - done), out _);
                    Assert.True(err is 0 or Errno.EINTR, $"test run on CPU {cpu}: errno {err}");
                }
            }
            finally
            {
                Interlocked.Decrement(ref _running);
                wake();
            }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
    }

    /// <summary>Whether any producer is still running.</summary>
    public bool Running => Volatile.Read(ref _running) > 0;

    /// <summary>Completes when every producer has stopped; faults with a producer's failure.</summary>
    public Task Completion { get; }
}
