using System.Runtime;

namespace BpfMaps.Tests.Common;

/// <summary>
/// Bytes a piece of work allocates on the calling thread, measured in a region without garbage
/// collections: a collection during the work adds several KB to the thread's count whatever the work's
/// size (other tests allocate in parallel), so a run that a collection interrupted is run again.
/// </summary>
public static class ThreadAllocation
{
    /// <summary>Runs <paramref name="work"/> until one run completes without a collection, and returns what that run allocated.</summary>
    /// <param name="work">The work to measure.</param>
    /// <param name="prepare">Run before each attempt, outside the measurement (for example refilling a map a drain empties), or null.</param>
    /// <returns>Bytes allocated on this thread by one run of <paramref name="work"/>.</returns>
    public static long Measure(Action work, Action? prepare = null)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            prepare?.Invoke();
            Assert.True(GC.TryStartNoGCRegion(64 << 20), "a region without garbage collections could not be started");
            long allocated;
            bool withoutCollection;
            try
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                work();
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            finally
            {
                // A collection ends the region (the budget was spent, by this thread or another).
                withoutCollection = GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;
                if (withoutCollection)
                {
                    GC.EndNoGCRegion();
                }
            }

            if (withoutCollection)
            {
                return allocated;
            }
        }

        Assert.Fail("every measured run was interrupted by a garbage collection");
        return 0;
    }
}
