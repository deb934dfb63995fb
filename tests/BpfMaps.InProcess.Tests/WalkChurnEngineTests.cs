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
        WalkChurnChecks.AssertConverged(WalkChurn.Run(map, WalkChurn.Passes(ci: 5), onPass: WalkChurnChecks.CountWalk), "engine dump");
    }

    [Fact]
    public void Default_drain_completes_under_churn_without_duplicates_or_losses()
    {
        using BpfMap map = InProcessMap.Create(WalkChurn.Spec);
        WalkChurnChecks.AssertConverged(WalkChurn.Run(map, WalkChurn.Passes(ci: 3), drain: true, onPass: WalkChurnChecks.CountWalk), "engine drain");
    }
}
