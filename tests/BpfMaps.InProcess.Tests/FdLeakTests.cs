using BpfMaps.InProcess.Tests.Differential;
using BpfMaps.Kernel;
using CsCheck;

namespace BpfMaps.InProcess.Tests;

[CollectionDefinition(nameof(FdLeakTests), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>Runs alone, so the process-wide count of live descriptors means something.</summary>
[Collection(nameof(FdLeakTests))]
public class FdLeakTests
{
    [Fact]
    public void DifferentialRunsCloseEveryKernelMap()
    {
        Backends.RequireKernel();
        long before = BpfFd.LiveCount;
        ProgramGen.Program().Sample(DiffRunner.Run, iter: 300, threads: 1, print: p => p.ToString());
        ProgramGen.Program(lru: true).Sample(p => DiffRunnerCreateOnly(p), iter: 50, threads: 1);
        Assert.True(BpfFd.LiveCount == before, $"{BpfFd.LiveCount - before} descriptors leaked: {string.Join("; ", BpfFd.LiveOrigins)}");
    }

    private static void DiffRunnerCreateOnly(MapProgram p)
    {
        using BpfMap k = Backends.Create(Backend.Kernel, p.Config.Spec with { Flags = p.Config.Flags & ~(MapFlags.ReadOnly | MapFlags.WriteOnly) });
        Assert.True(p.Config.MaxEntries <= k.MaxEntries);
    }
}
