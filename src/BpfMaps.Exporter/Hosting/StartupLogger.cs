using Microsoft.Extensions.Logging;

namespace BpfMaps.Exporter.Hosting;

/// <summary>
/// Holds back what is logged while the exporter starts: if startup fails, its one error line is all
/// that is printed; once it has started, the held lines are written in order.
/// </summary>
/// <param name="inner">The real logger.</param>
internal sealed class StartupLogger(ILogger inner) : ILogger
{
    private readonly Lock _lock = new();
    private List<Action>? _held = [];

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
        => inner.BeginScope(state);

    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            if (_held is not null)
            {
                _held.Add(() => inner.Log(logLevel, eventId, state, exception, formatter));
                return;
            }
        }

        inner.Log(logLevel, eventId, state, exception, formatter);
    }

    /// <summary>Writes what was held and logs straight through from now on.</summary>
    public void Release()
    {
        List<Action>? held;
        lock (_lock)
        {
            held = _held;
            _held = null;
        }

        foreach (Action line in held ?? [])
        {
            line();
        }
    }
}
