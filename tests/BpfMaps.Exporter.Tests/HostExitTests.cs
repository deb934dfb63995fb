using BpfMaps.Exporter.Hosting;

namespace BpfMaps.Exporter.Tests;

/// <summary>A run that was serving ends with 0 only when it was asked to stop; a dead read loop is exit 1.</summary>
public sealed class HostExitTests
{
    [Fact]
    public async Task A_read_loop_that_ended_or_was_cancelled_is_a_clean_stop()
    {
        var errors = new StringWriter();
        Assert.Equal(ExporterExitCode.Ok, await ExporterHost.ExitAfterShutdownAsync(null, errors));
        Assert.Equal(ExporterExitCode.Ok, await ExporterHost.ExitAfterShutdownAsync(Task.CompletedTask, errors));
        Assert.Equal(ExporterExitCode.Ok, await ExporterHost.ExitAfterShutdownAsync(Task.FromCanceled(new CancellationToken(canceled: true)), errors));
        Assert.Equal(string.Empty, errors.ToString());
    }

    [Fact]
    public async Task A_failed_read_loop_is_exit_1_with_one_line_naming_the_failure()
    {
        var errors = new StringWriter();
        Task failed = Task.FromException(new InvalidOperationException("offset past the value\nsecond line"));
        Assert.Equal(ExporterExitCode.Failed, await ExporterHost.ExitAfterShutdownAsync(failed, errors));
        string[] lines = errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["bpfmap export: the read loop failed: InvalidOperationException: offset past the value second line"], lines);
    }
}
