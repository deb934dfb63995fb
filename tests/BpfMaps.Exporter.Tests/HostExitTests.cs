using BpfMaps.Exporter.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Tests;

/// <summary>A run that was serving ends with 0 only when it was asked to stop; a dead read loop is exit 1.</summary>
public sealed class HostExitTests
{
    [Fact]
    public async Task A_read_loop_that_was_asked_to_stop_is_a_clean_stop()
    {
        var errors = new StringWriter();
        Assert.Equal(ExporterExitCode.Ok, await ExporterHost.ExitAfterShutdownAsync(null, errors));
        Assert.Equal(string.Empty, errors.ToString());
    }

    [Fact]
    public async Task A_read_loop_that_throws_stops_the_host_and_is_exit_1_with_one_line()
    {
        var log = new StringWriter();
        int reads = 0;
        var loop = new ReadLoop(TimeSpan.FromMilliseconds(10), () =>
        {
            if (++reads == 3)
            {
                throw new InvalidOperationException("offset past the value\nsecond line");
            }
        });
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddProvider(new TextWriterLoggerProvider(TextWriter.Synchronized(log)));
        ExporterHost.AddReadLoop(builder.Services, loop);
        using IHost host = builder.Build();

        // Nobody asks it to stop: the failing loop must stop the host itself.
        await host.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(3, reads);
        Assert.IsType<InvalidOperationException>(loop.Failure);
        Assert.DoesNotContain("BackgroundService", log.ToString(), StringComparison.Ordinal);

        var errors = new StringWriter();
        Assert.Equal(ExporterExitCode.Failed, await ExporterHost.ExitAfterShutdownAsync(loop.Failure, errors));
        string[] lines = errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["bpfmap export: the read loop failed: InvalidOperationException: offset past the value second line"], lines);
    }
}
