using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Hosting;

/// <summary>
/// Puts failed OTLP pushes in the exporter's log. OpenTelemetry reports them only on its own
/// EventSource, so without this a push to a wrong or unreachable collector fails in silence. The
/// first failure is logged at once; after that one summary line at most every
/// <see cref="SummaryEvery"/>, so a collector that stays down does not flood the log.
/// </summary>
internal sealed partial class OtlpFailureLog : EventListener
{
    /// <summary>The EventSource of OpenTelemetry's OTLP exporter.</summary>
    public const string SourceName = "OpenTelemetry-Exporter-OpenTelemetryProtocol";

    private readonly Lock _gate = new();
    private readonly TimeSpan _summaryEvery;
    private readonly TimeProvider _time;
    private volatile ILogger? _log;
    private long _lastLogged;
    private int _since;
    private string _latest = "";

    /// <summary>Starts listening.</summary>
    /// <param name="log">Where failures go.</param>
    /// <param name="summaryEvery">The least time between two lines after the first.</param>
    /// <param name="time">The clock (tests pass their own).</param>
    public OtlpFailureLog(ILogger log, TimeSpan summaryEvery, TimeProvider? time = null)
    {
        // The base constructor already calls OnEventSourceCreated for existing sources, before
        // this body runs; enabling needs nothing set here, and events seen before _log is set are dropped.
        _summaryEvery = summaryEvery;
        _time = time ?? TimeProvider.System;
        _log = log;
    }

    /// <summary>The default least time between two summary lines.</summary>
    public static TimeSpan SummaryEvery => TimeSpan.FromMinutes(1);

    /// <summary>Failures seen so far.</summary>
    public int Failures { get; private set; }

    /// <inheritdoc />
    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == SourceName)
        {
            EnableEvents(eventSource, EventLevel.Warning);
        }
    }

    /// <inheritdoc />
    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.Level is > EventLevel.Warning or EventLevel.LogAlways)
        {
            return;
        }

        Record(Describe(eventData));
    }

    /// <summary>Counts one failure and logs it, or its summary, when due.</summary>
    /// <param name="what">The failure, on one line.</param>
    internal void Record(string what)
    {
        if (_log is not { } log)
        {
            return;
        }

        lock (_gate)
        {
            Failures++;
            long now = _time.GetTimestamp();
            if (Failures == 1)
            {
                LogFirst(log, what);
                _lastLogged = now;
            }
            else if (_time.GetElapsedTime(_lastLogged, now) >= _summaryEvery)
            {
                LogMore(log, _since + 1, what);
                _lastLogged = now;
                _since = 0;
            }
            else
            {
                _since++;
                _latest = what;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "OTLP export failed: {Failure}")]
    private static partial void LogFirst(ILogger log, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OTLP export: {Count} more failures since the last report; latest: {Failure}")]
    private static partial void LogMore(ILogger log, int count, string failure);

    /// <summary>The event's message with its payload filled in, on one line, without stack traces.</summary>
    private static string Describe(EventWrittenEventArgs e)
    {
        string text;
        try
        {
            object?[] args = e.Payload is { } p ? [.. p] : [];
            text = e.Message is { Length: > 0 } format ? string.Format(CultureInfo.InvariantCulture, format, args) : $"{e.EventName}: {string.Join(", ", args)}";
        }
        catch (FormatException)
        {
            text = $"{e.EventName}: {e.Message}";
        }

        return WithoutStack(text);
    }

    /// <summary>
    /// <paramref name="text"/> on one line, cut before the first stack frame: the payload carries the
    /// exception's ToString(), and the stack trace is no use in an operator's log.
    /// </summary>
    internal static string WithoutStack(string text)
    {
        text = text.ReplaceLineEndings(" ");
        int stack = text.IndexOf("   at ", StringComparison.Ordinal);
        return (stack < 0 ? text : text[..stack]).Replace("  ", " ", StringComparison.Ordinal).Trim();
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        // Failures counted since the last line are reported now, or a recovery within the minute would hide them.
        lock (_gate)
        {
            if (_log is { } log && _since > 0)
            {
                LogMore(log, _since, _latest);
                _since = 0;
            }

            _log = null;
        }

        base.Dispose();
    }
}
