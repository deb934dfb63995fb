namespace BpfMaps.Tests.Common;

/// <summary><c>BPFMAPS_SOAK_ITER</c>: how many times longer the soak tests run than in CI.</summary>
public static class Soak
{
    /// <summary><c>BPFMAPS_SOAK_ITER</c> when it is set to a positive number, else <paramref name="ci"/>.</summary>
    /// <param name="ci">The count CI runs.</param>
    /// <returns>The count.</returns>
    public static int Iterations(int ci = 1)
        => int.TryParse(Environment.GetEnvironmentVariable("BPFMAPS_SOAK_ITER"), out int n) && n > 0 ? n : ci;
}
