namespace BpfMaps.Cli.Demo;

/// <summary>The demo's writer threads: started together, told to stop together, joined.</summary>
internal sealed class WriterThreads
{
    private readonly List<Thread> _threads = [];
    private volatile bool _stopping;

    /// <summary>Whether writers should stop.</summary>
    public bool Stopping => _stopping;

    /// <summary>Starts <paramref name="count"/> background threads running <paramref name="body"/> with their index.</summary>
    public void Start(int count, string name, Action<int> body)
    {
        for (int i = 0; i < count; i++)
        {
            int index = i;
            var t = new Thread(() => body(index)) { IsBackground = true, Name = $"{name}-{i}" };
            _threads.Add(t);
            t.Start();
        }
    }

    /// <summary>Asks every writer to stop and waits for them.</summary>
    public void StopAndJoin()
    {
        _stopping = true;
        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }
}
