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
    private static readonly Lazy<string?> s_kernelUnavailable = new(Probe);

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

    private static string? Probe()
    {
        if (!Kernel.BpfSyscall.IsArchitectureSupported)
        {
            return "no bpf() syscall on this OS/architecture";
        }

        try
        {
            using var m = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
            return null;
        }
        catch (BpfException e) when (e.Errno is Errno.EPERM or Errno.ENOSYS or Errno.EACCES)
        {
            // Only a missing syscall or missing privileges count; any other failure must fail the tests.
            return $"BPF_MAP_CREATE failed with {Errno.Name(e.Errno)} (needs root/CAP_BPF and a kernel with bpf())";
        }
    }
}
