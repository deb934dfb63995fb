using BpfMaps.InProcess;

namespace BpfMaps.InProcess.Tests;

/// <summary>The backends one conformance suite runs over.</summary>
public enum Backend
{
    Kernel,
    InProcess,
}

/// <summary>The registry: creates maps on either backend, and knows whether the kernel one is usable.</summary>
public static class Backends
{
    private static readonly Lazy<string?> s_kernelUnavailable = new(Features.BpfFeatures.WhyUnavailable);

    public static TheoryData<Backend> All => new(Backend.Kernel, Backend.InProcess);

    /// <summary>Why bpf() cannot be used here, or null when it can.</summary>
    public static string? KernelUnavailableReason => s_kernelUnavailable.Value;

    /// <summary>Skips the test, with the reason, only when bpf() really is unavailable.</summary>
    public static void RequireKernel()
    {
        if (KernelUnavailableReason is { } why)
        {
            Assert.Skip($"kernel backend unavailable: {why}");
        }
    }

    public static BpfMap Create(Backend backend, MapSpec spec)
    {
        if (backend == Backend.Kernel)
        {
            RequireKernel();
            return BpfMap.Create(spec);
        }

        return InProcessMap.Create(spec);
    }
}
