using CsCheck;

namespace BpfMaps.InProcess.Tests.Differential;

/// <summary>
/// Random operation sequences on a real kernel map (BPF_F_ZERO_SEED) and on the in-process engine
/// must agree step by step. CsCheck shrinks any failure to a minimal program, which then goes to
/// <see cref="RegressionTests"/>. <c>BPFMAPS_SOAK_ITER</c> raises the number of programs.
/// </summary>
public class DifferentialTests
{
    private static long Iterations(long ci) =>
        long.TryParse(Environment.GetEnvironmentVariable("BPFMAPS_SOAK_ITER"), out long n) && n > 0 ? n : ci;

    [Fact]
    public void HashAndArrayProgramsMatchTheKernel()
    {
        Backends.RequireKernel();
        ProgramGen.Program().Sample(DiffRunner.Run, iter: Iterations(3000), threads: 2, print: p => p.ToString());
    }
}
