namespace BpfMaps.Cli.Demo;

/// <summary>Chooses the demo's workload for this machine.</summary>
internal static class DemoWorkloads
{
    /// <summary>
    /// BPF counter programs on a double-buffered counter map where bpf() works; the in-process engine
    /// where it does not (or when asked for), saying why.
    /// </summary>
    /// <param name="inProcess">Use the in-process engine even where bpf() works.</param>
    /// <returns>The workload.</returns>
    public static IDemoWorkload Create(bool inProcess)
    {
        int writers = Math.Max(2, Environment.ProcessorCount);
        if (inProcess)
        {
            return new InProcessWorkload(writers, "--in-process");
        }

        try
        {
            return new BpfCounterWorkload(Environment.ProcessorCount);
        }
        catch (BpfException e) when (e.Errno is Errno.EPERM or Errno.EACCES or Errno.ENOSYS)
        {
            return new InProcessWorkload(writers, $"bpf() is not available here: {Errno.Name(e.Errno)} from {e.Command}");
        }
    }
}
