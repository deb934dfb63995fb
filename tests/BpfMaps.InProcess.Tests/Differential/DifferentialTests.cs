using CsCheck;

namespace BpfMaps.InProcess.Tests.Differential;

/// <summary>
/// Random operation sequences on a real kernel map (BPF_F_ZERO_SEED) and on the in-process engine
/// must agree step by step. CsCheck shrinks any failure to a minimal program, which then goes to
/// <see cref="RegressionTests"/>. <c>BPFMAPS_SOAK_ITER=N</c> runs N hash and array programs, and the slower
/// suites the same multiple of their CI counts (N = 60,000, twenty times CI, gives 2,000 map-in-map programs).
/// </summary>
public class DifferentialTests
{
    private const long CiPrograms = 3000;

    /// <summary>The CI count, or the soak's multiple of it.</summary>
    private static long Iterations(long ci) =>
        long.TryParse(Environment.GetEnvironmentVariable("BPFMAPS_SOAK_ITER"), out long n) && n > 0 ? Math.Max(1, n * ci / CiPrograms) : ci;

    [Fact]
    public void Hash_and_array_programs_match_the_kernel()
    {
        Backends.RequireKernel();
        ProgramGen.Program().Sample(DiffRunner.Run, iter: Iterations(CiPrograms), threads: 2, print: p => p.ToString());
    }

    /// <summary>
    /// array_of_maps and hash_of_maps programs over a pool of inner maps (<see cref="MapInMapRunner"/>). Every
    /// successful update or delete of a kernel map-in-map waits for an RCU grace period, so these cost about
    /// 30 ms each: 100 in CI.
    /// </summary>
    [Fact]
    public void Map_in_map_programs_match_the_kernel()
    {
        Backends.RequireKernel();
        MimProgramGen.Program().Sample(MapInMapRunner.Run, iter: Iterations(100), threads: 2, print: p => p.ToString());
    }

    /// <summary>
    /// Every flag bit alone and in pairs, and every size at and around the kernel's limits, over every map type
    /// (<see cref="CreateSweep"/>); each difference is listed, not just the first.
    /// </summary>
    [Fact]
    public void Every_create_spec_of_the_sweep_matches_the_kernel()
    {
        Backends.RequireKernel();
        var differences = new List<string>();
        int run = 0, skipped = 0;
        foreach (CreateCase c in CreateSweep.FlagSweep().Concat(CreateSweep.SizeSweep()))
        {
            try
            {
                if (CreateSweep.Run(c))
                {
                    run++;
                }
                else
                {
                    skipped++;
                }
            }
            catch (DifferenceException e)
            {
                differences.Add(e.Message);
            }
        }

        Assert.True(differences.Count == 0, $"{differences.Count} of {run} specs differ:\n" + string.Join("\n", differences.Take(60)));
        Assert.True(run > 10 * skipped, $"{run} specs run, {skipped} skipped as too large for the host");
    }

    [Fact]
    public void Random_create_specs_match_the_kernel()
    {
        Backends.RequireKernel();
        CreateSweep.Random().Sample(c => { CreateSweep.Run(c); }, iter: Iterations(1000), threads: 2, print: c => c.ToString());
    }
}
