using BpfMaps.Tests.Common;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// The churn of BpfMaps.Tests' <c>WalkChurnTests</c> on the engine, whose get_next_key starts over
/// from the first key for a missing key and puts a re-inserted key at the head of its bucket, as the
/// kernel does (<see cref="ConformanceTests"/>). The kernel runs in BpfMaps.Tests, beside the other
/// dump and drain tests, so it is not run twice. <c>BPFMAPS_SOAK_ITER=N</c> runs N passes.
/// </summary>
public class WalkChurnEngineTests
{
    [Fact]
    public void Default_dump_completes_under_churn_without_duplicates_or_losses()
    {
        using BpfMap map = InProcessMap.Create(WalkChurn.Spec);
        AssertConverged(WalkChurn.Run(map, WalkChurn.Passes(ci: 5), onPass: CountWalk), "engine dump");
    }

    [Fact]
    public void Default_drain_completes_under_churn_without_duplicates_or_losses()
    {
        using BpfMap map = InProcessMap.Create(WalkChurn.Spec);
        AssertConverged(WalkChurn.Run(map, WalkChurn.Passes(ci: 3), drain: true, onPass: CountWalk), "engine drain");
    }

    private static void CountWalk(MapEnumerator e, ChurnReport report)
    {
        GetNextKeyWalk walk = e.Walk!;
        report.Extra["reorders"] = report.Extra.GetValueOrDefault("reorders") + walk.Reorders;
        report.Extra["resumes"] = report.Extra.GetValueOrDefault("resumes") + walk.Resumes;
        report.Extra["starts over"] = report.Extra.GetValueOrDefault("starts over") + walk.StartsOver;
        report.Extra["max get_next_key calls in a pass"] = Math.Max(report.Extra.GetValueOrDefault("max get_next_key calls in a pass"), walk.Steps);
    }

    private static void AssertConverged(ChurnReport report, string what)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {report}");
        Assert.True(report.Failures.Count == 0, $"{what}: {report}\n{string.Join('\n', report.Failures.Take(10))}");
        Assert.True(report.ChurnOpsDuringPasses > 0, "the churn must overlap the passes");
        long steps = report.Extra["max get_next_key calls in a pass"];
        Assert.True(steps < 3L * WalkChurn.Entries, $"{what}: a pass made {steps} get_next_key calls over {WalkChurn.Entries} keys");
    }
}
