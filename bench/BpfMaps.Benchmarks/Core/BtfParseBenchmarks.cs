using BenchmarkDotNet.Attributes;
using BpfMaps.Btf;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// Parsing the running kernel's BTF (/sys/kernel/btf/vmlinux): <see cref="BtfSpec.LoadVmlinux()"/> (which
/// parses the process's one mapping of the file in place), the same with the file read by read() into an
/// array (kernels before 6.16), and the parse of an array already in memory. The side-by-side comparison
/// with libbpf is the <c>btf-parse</c> runner.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class BtfParseBenchmarks
{
    private static readonly string Vmlinux = Path.Combine(BtfSpec.KernelBtfDirectory, "vmlinux");
    private byte[] _blob = null!;

    [GlobalSetup]
    public void Setup() => _blob = File.ReadAllBytes(Vmlinux);

    [Benchmark(Baseline = true)]
    public int LoadVmlinux() => BtfSpec.LoadVmlinux().TypeCount;

    [Benchmark]
    public int ParseInMemory() => BtfSpec.Parse(_blob).TypeCount;

    [Benchmark]
    public int LoadVmlinuxWithRead() => BtfSpec.LoadVmlinux(allowMap: false).TypeCount;
}
