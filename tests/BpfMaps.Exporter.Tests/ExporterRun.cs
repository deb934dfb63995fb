namespace BpfMaps.Exporter.Tests;

/// <summary>The exporter running in-process until <see cref="StopAsync"/>, which checks that it exited with 0.</summary>
internal sealed class ExporterRun
{
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _log = new();
    private readonly Task<int> _task;

    public ExporterRun(ExporterOptions options)
    {
        Log = TextWriter.Synchronized(_log);
        _task = Task.Run(() => ExporterHost.RunAsync(options, Log, _stop.Token));
    }

    public TextWriter Log { get; }

    public string LogText
    {
        get
        {
            lock (Log)
            {
                return _log.ToString();
            }
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        Assert.Equal(0, await _task.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
