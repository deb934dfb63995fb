using BenchmarkDotNet.Attributes;
using BpfMaps.Events;
using BpfMaps.InProcess;
using BpfMaps.Programs;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// Draining a ring buffer of 1M records of 24 bytes, refilled before each iteration: by the kernel's
/// EventProgram (test runs) or by the in-process engine's producer. Per record: the time, and the allocation,
/// which MemoryDiagnoser shows as 0 B on the span path (struct handler and delegate).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 10, invocationCount: 1)]
public class RingBufferBenchmarks
{
    private const int Records = 1_000_000;
    private static readonly byte[] Packet = CounterProgram.CreatePacket();
    private BpfMap _ring = null!;
    private BpfMap? _state;
    private BpfProgram? _producer;
    private RingBuffer _reader = null!;
    private RecordHandler _delegate = null!;
    private ulong _sum;

    [Params("kernel", "in-process")]
    public string Backend { get; set; } = "kernel";

    private struct SumHandler : IRecordHandler
    {
        public ulong Sum;

        public void OnRecord(ReadOnlySpan<byte> record) => Sum += System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(record[8..]);
    }

    [GlobalSetup]
    public void Setup()
    {
        var spec = new MapSpec { Type = MapType.RingBuf, KeySize = 0, ValueSize = 0, MaxEntries = 1 << 26, Name = "bdn_ring" };
        _ring = Backend == "kernel" ? BpfMap.Create(spec) : InProcessMap.Create(spec);
        if (Backend == "kernel")
        {
            _state = EventProgram.CreateStateMap("bdn_rstate");
            _producer = EventProgram.Load(_ring, _state);
        }

        _reader = RingBuffer.Open(_ring);
        _delegate = r => _sum += System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(r[8..]);
    }

    [IterationSetup]
    public void Fill()
    {
        if (_producer is not null)
        {
            _producer.TestRunOnCpu(0, Packet, Records);
            return;
        }

        Span<byte> record = stackalloc byte[24];
        for (ulong i = 0; i < Records; i++)
        {
            BitConverter.TryWriteBytes(record[8..], i);
            InProcessRingBuffer.TryOutput(_ring, record, RingBufferWakeup.None);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        _producer?.Dispose();
        _state?.Dispose();
        _ring.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Records, Baseline = true)]
    public ulong ConsumeStruct()
    {
        var h = new SumHandler();
        _reader.Consume(ref h);
        return h.Sum;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public ulong ConsumeDelegate()
    {
        _reader.Consume(_delegate);
        return _sum;
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public ulong PollStruct()
    {
        var h = new SumHandler();
        _reader.Poll(TimeSpan.Zero, ref h);
        return h.Sum;
    }
}
