using System.Diagnostics;
using BpfMaps.Programs;

namespace BpfMaps.Cli.Tests.EventPipe;

/// <summary>
/// A perf event array or ring buffer pinned in a <see cref="PinDir"/>, with the event program that writes
/// <see cref="SequencedEvent"/>s into it when test-run on a CPU. For a perf event array, <see cref="WaitForReader"/>
/// runs the program until a reader's event is in the CPU's slot: runs before that fail (no event there) and are
/// counted as drops, without using a sequence number, so what a reader gets is the same in every run.
/// </summary>
public sealed class EventProducer : IDisposable
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();
    private readonly PinDir _dir = new();
    private readonly BpfMap _map;
    private BpfMap _state;
    private BpfProgram _program;
    private readonly int _recordSize;

    public EventProducer(MapType type, int recordSize = 24, string name = "pipe_events")
    {
        Kernel.RequireBpffs();
        _recordSize = recordSize;
        _map = type == MapType.RingBuf
            ? BpfMap.Create(new MapSpec { Type = MapType.RingBuf, KeySize = 0, ValueSize = 0, MaxEntries = 1 << 16, Name = name })
            : BpfMap.Create(new MapSpec { Type = MapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = PossibleCpus.Count, Name = name });
        _map.Pin(Pin);
        (_state, _program) = Load();
    }

    /// <summary>Where the events map is pinned.</summary>
    public string Pin => _dir["events"];

    public BpfMap Map => _map;

    public uint Id => _map.Id;

    public static IReadOnlyList<int> Cpus => Enumerable.Range(0, Environment.ProcessorCount).ToList();

    /// <summary>Starts the sequence numbers over (a new state map and program), for a second reader to get the same records.</summary>
    public void Reset()
    {
        _program.Dispose();
        _state.Dispose();
        (_state, _program) = Load();
    }

    public EventProducerCounters Counters(int cpu) => EventProgram.ReadCounters(_state)[cpu];

    /// <summary>
    /// Runs the program <paramref name="n"/> times on <paramref name="cpu"/>. A test run with repeats stops early with
    /// EINTR when a signal is pending (the runtime signals threads to suspend them for a GC); every run counts one
    /// record accepted or dropped, so the counters say how many are left to run.
    /// </summary>
    public void Produce(int cpu, int n)
    {
        EventProducerCounters c = Counters(cpu);
        ulong target = c.Accepted + c.Dropped + (ulong)n;
        while (true)
        {
            c = Counters(cpu);
            ulong done = c.Accepted + c.Dropped;
            if (done >= target)
            {
                return;
            }

            int err = _program.TestRunOnCpuOrErrno(cpu, Packet, (int)(target - done), out _);
            Assert.True(err is 0 or Errno.EINTR, $"test run on CPU {cpu}: {Errno.Name(err)}");
        }
    }

    /// <summary>Runs the program on <paramref name="cpu"/> until a run is accepted (a perf reader has its event in the slot): that run is sequence 0.</summary>
    public void WaitForReader(int cpu, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (Counters(cpu).Accepted == 0)
        {
            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(30)))
            {
                throw new TimeoutException($"no reader attached to CPU {cpu} of {_map}");
            }

            Produce(cpu, 1);
            if (Counters(cpu).Accepted == 0)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>The bytes a reader prints for sequence <paramref name="seq"/> from <paramref name="cpu"/> (a perf sample's data keeps its 4 bytes of padding, whose content is unknown).</summary>
    public byte[] Record(int cpu, ulong seq)
    {
        byte[] r = new byte[_recordSize];
        BitConverter.TryWriteBytes(r.AsSpan(0), (uint)cpu);
        BitConverter.TryWriteBytes(r.AsSpan(4), (uint)_recordSize);
        BitConverter.TryWriteBytes(r.AsSpan(8), seq);
        BitConverter.TryWriteBytes(r.AsSpan(16), ~seq);
        for (int o = 24; o < _recordSize; o += 8)
        {
            BitConverter.TryWriteBytes(r.AsSpan(o), seq);
        }

        return r;
    }

    public void Dispose()
    {
        _program.Dispose();
        _state.Dispose();
        _map.Dispose();
        _dir.Dispose();
    }

    private (BpfMap, BpfProgram) Load()
    {
        BpfMap state = EventProgram.CreateStateMap("pipe_state");
        var options = new EventProgramOptions
        {
            Output = _map.Type == MapType.RingBuf ? EventOutput.RingbufOutput : EventOutput.PerfEventOutput,
            RecordSize = _recordSize,
        };
        return (state, EventProgram.Load(_map, state, options));
    }
}
