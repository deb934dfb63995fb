using BpfMaps.InProcess;

namespace BpfMaps.Tests.Common;

/// <summary>The backends one suite runs over.</summary>
public enum Backend
{
    Kernel,
    InProcess,
}

/// <summary>
/// The registry: creates maps on either backend, and knows whether the kernel one is usable. Shared by
/// BpfMaps.Tests and BpfMaps.InProcess.Tests, so the semantic suites of both run over the same two
/// backends with the kernel's behaviour as the expectation.
/// </summary>
public static class Backends
{
    private static readonly Lazy<string?> s_kernelUnavailable = new(Features.BpfFeatures.WhyUnavailable);

    public static TheoryData<Backend> All => new(Backend.Kernel, Backend.InProcess);

    /// <summary>Every row on every backend, for a suite whose cases take arguments of their own.</summary>
    public static TheoryData<Backend, T> With<T>(params T[] rows)
    {
        var data = new TheoryData<Backend, T>();
        foreach (Backend backend in Enum.GetValues<Backend>())
        {
            foreach (T row in rows)
            {
                data.Add(backend, row);
            }
        }

        return data;
    }

    /// <summary>Every row on every backend, for cases that take two arguments of their own.</summary>
    public static TheoryData<Backend, T1, T2> With<T1, T2>(params (T1, T2)[] rows)
    {
        var data = new TheoryData<Backend, T1, T2>();
        foreach (Backend backend in Enum.GetValues<Backend>())
        {
            foreach ((T1 a, T2 b) in rows)
            {
                data.Add(backend, a, b);
            }
        }

        return data;
    }

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

    /// <summary>Skips the test when <paramref name="backend"/> is the kernel and bpf() is unavailable.</summary>
    public static void Require(Backend backend)
    {
        if (backend == Backend.Kernel)
        {
            RequireKernel();
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
