using BenchmarkDotNet.Attributes;
using BpfMaps.Btf;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// Parsing the running kernel's BTF (/sys/kernel/btf/vmlinux): the file read and parse together
/// (<see cref="BtfSpec.LoadVmlinux"/>), the parse of bytes already in memory, and the read alone, mapped
/// and copied or with read(). The side-by-side comparison with libbpf is the <c>btf-parse</c> runner.
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
    public int ReadMapped() => BtfSpec.ReadKernelFile(Vmlinux).Length;

    [Benchmark]
    public int ReadWithRead() => BtfSpec.ReadKernelFile(Vmlinux, allowMap: false).Length;
}
