using BpfMaps.Exporter.Hosting;
using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Tests;

/// <summary>Failed OTLP pushes: the first is logged at once, the rest as one summary line per period.</summary>
public sealed class OtlpFailureLogTests
{
    private sealed class ManualClock : TimeProvider
    {
        public long Now { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now;

        public void Advance(TimeSpan by) => Now += by.Ticks;
    }

    private static (OtlpFailureLog Failures, StringWriter Log, ManualClock Clock) Start()
    {
        var log = new StringWriter();
        var clock = new ManualClock();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new TextWriterLoggerProvider(log)));
        return (new OtlpFailureLog(factory.CreateLogger("t"), TimeSpan.FromMinutes(1), clock), log, clock);
    }

    private static string[] Lines(StringWriter log) => log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void The_first_failure_is_logged_at_once_and_the_next_ones_are_summed_up_a_minute_later()
    {
        (OtlpFailureLog failures, StringWriter log, ManualClock clock) = Start();
        using (failures)
        {
            failures.Record("refused 1");
            Assert.Equal(["warning: OTLP export failed: refused 1"], Lines(log));

            for (int i = 2; i <= 6; i++)
            {
                clock.Advance(TimeSpan.FromSeconds(10));
                failures.Record($"refused {i}");
            }

            Assert.Equal(["warning: OTLP export failed: refused 1"], Lines(log));

            clock.Advance(TimeSpan.FromSeconds(10));
            failures.Record("refused 7");
            Assert.Equal(["warning: OTLP export failed: refused 1", "warning: OTLP export: 6 more failures since the last report; latest: refused 7"], Lines(log));

            // The count starts again after each summary.
            clock.Advance(TimeSpan.FromSeconds(30));
            failures.Record("refused 8");
            clock.Advance(TimeSpan.FromSeconds(30));
            failures.Record("refused 9");
            Assert.Equal(
                [
                    "warning: OTLP export failed: refused 1",
                    "warning: OTLP export: 6 more failures since the last report; latest: refused 7",
                    "warning: OTLP export: 2 more failures since the last report; latest: refused 9",
                ],
                Lines(log));
            Assert.Equal(9, failures.Failures);
        }
    }

    [Fact]
    public void Failures_not_yet_summed_up_are_reported_when_the_listener_stops()
    {
        (OtlpFailureLog failures, StringWriter log, ManualClock clock) = Start();
        failures.Record("refused 1");
        clock.Advance(TimeSpan.FromSeconds(5));
        failures.Record("refused 2");
        failures.Record("refused 3");
        Assert.Equal(["warning: OTLP export failed: refused 1"], Lines(log));
        failures.Dispose();
        Assert.Equal(["warning: OTLP export failed: refused 1", "warning: OTLP export: 2 more failures since the last report; latest: refused 3"], Lines(log));
    }

    [Fact]
    public void A_disposed_listener_logs_nothing()
    {
        (OtlpFailureLog failures, StringWriter log, _) = Start();
        failures.Dispose();
        failures.Record("late");
        Assert.Empty(log.ToString());
    }

    [Fact]
    public void Stack_frames_and_line_breaks_are_cut()
    {
        string text = "Exporter failed. Exception: System.Net.Http.HttpRequestException: Connection refused (127.0.0.1:9)\n ---> System.Net.Sockets.SocketException (111): Connection refused\n   at System.Net.Sockets.Socket.Throw()\n   at Other.Frame()";
        Assert.Equal(
            "Exporter failed. Exception: System.Net.Http.HttpRequestException: Connection refused (127.0.0.1:9) ---> System.Net.Sockets.SocketException (111): Connection refused",
            OtlpFailureLog.WithoutStack(text));
        Assert.Equal("no stack here", OtlpFailureLog.WithoutStack("no stack here"));
    }
}
