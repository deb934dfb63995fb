namespace BpfMaps.Tests.Common;

/// <summary>
/// What the kernel and engine churn tests check of a <see cref="WalkChurn"/> report. It reads the walk's
/// internal counters, so only test projects the library opens its internals to compile it.
/// </summary>
public static class WalkChurnChecks
{
    /// <summary>Adds a pass's walk counters (reorders, resumes, starts over, get_next_key calls) to the report, as an <c>onPass</c> callback.</summary>
    public static void CountWalk(MapEnumerator e, ChurnReport report)
    {
        GetNextKeyWalk walk = e.Walk!;
        report.Extra["reorders"] = report.Extra.GetValueOrDefault("reorders") + walk.Reorders;
        report.Extra["resumes"] = report.Extra.GetValueOrDefault("resumes") + walk.Resumes;
        report.Extra["starts over"] = report.Extra.GetValueOrDefault("starts over") + walk.StartsOver;
        report.Extra["max get_next_key calls in a pass"] = Math.Max(report.Extra.GetValueOrDefault("max get_next_key calls in a pass"), walk.Steps);
    }

    /// <summary>No failures, churn that overlapped the passes, and passes that converged.</summary>
    public static void AssertConverged(ChurnReport report, string what)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {report}");
        Assert.True(report.Failures.Count == 0, $"{what}: {report}\n{string.Join('\n', report.Failures.Take(10))}");
        Assert.True(report.ChurnOpsDuringPasses > 0, "the churn must overlap the passes");

        // Convergence, not speed: a pass costs about one get_next_key call per key, plus a few per restart.
        long steps = report.Extra["max get_next_key calls in a pass"];
        Assert.True(steps < 3L * WalkChurn.Entries, $"{what}: a pass made {steps} get_next_key calls over {WalkChurn.Entries} keys");
    }
}
