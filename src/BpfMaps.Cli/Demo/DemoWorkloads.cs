namespace BpfMaps.Cli.Demo;

/// <summary>Chooses the demo's workload for this machine.</summary>
internal static class DemoWorkloads
{
    /// <summary>The workload: kernel maps with one writer per CPU.</summary>
    /// <returns>The workload.</returns>
    public static IDemoWorkload Create() => new TakeAndAddWorkload(Math.Max(2, Environment.ProcessorCount));
}
