namespace BpfMaps.Cli.Hosting;

/// <summary>Ctrl+C as a cancellation token for long-running commands (watch, demo), so they end cleanly.</summary>
internal sealed class Interrupt : IDisposable
{
    private readonly CancellationTokenSource _cts;

    /// <summary>Hooks Ctrl+C; optionally also stops after <paramref name="timeout"/>.</summary>
    /// <param name="timeout">A deadline, or null.</param>
    public Interrupt(TimeSpan? timeout = null)
    {
        _cts = timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        Console.CancelKeyPress += OnCancel;
    }

    /// <summary>Cancelled on Ctrl+C or at the deadline.</summary>
    public CancellationToken Token => _cts.Token;

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancel;
        _cts.Dispose();
    }

    private void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        e.Cancel = true;
        _cts.Cancel();
    }
}
