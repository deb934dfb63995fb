using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using BpfMaps.Events;
using BpfMaps.Programs;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// Ring buffers, user ring buffers and mmapable arrays on both backends, with the kernel as the expectation. The
/// kernel's records come from <see cref="EventProgram"/> run through BPF_PROG_TEST_RUN; the engine's from
/// <see cref="InProcessRingBuffer"/> writing the same records. The consumer is the same code on both.
/// </summary>
public class EventConformanceTests
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();

    internal static MapSpec RingSpec(int size = 1 << 16, MapType type = MapType.RingBuf) => new() { Type = type, KeySize = 0, ValueSize = 0, MaxEntries = size, Name = "conf_ring" };

    private static MapSpec MmapSpec(int value = 8, int max = 64, MapFlags flags = MapFlags.Mmapable)
        => new() { Type = MapType.Array, KeySize = 4, ValueSize = value, MaxEntries = max, Flags = flags, Name = "conf_mmap" };

    /// <summary>Writes <paramref name="runs"/> records the way EventProgram's runs would, on either backend; returns (accepted, dropped).</summary>
    internal sealed class Producer : IDisposable
    {
        private readonly Backend _backend;
        private readonly BpfMap _ring;
        private readonly BpfMap? _state;
        private readonly BpfProgram? _prog;
        private readonly EventProgramOptions _options;
        private ulong _accepted;
        private ulong _dropped;

        public Producer(Backend backend, BpfMap ring, EventProgramOptions? options = null)
        {
            _backend = backend;
            _ring = ring;
            _options = options ?? EventProgramOptions.Default;
            if (backend == Backend.Kernel)
            {
                _state = EventProgram.CreateStateMap("conf_state");
                _prog = EventProgram.Load(ring, _state, _options);
            }
        }

        public void Run(int runs)
        {
            if (_prog is not null)
            {
                _prog.TestRunOnCpu(0, Packet, runs);
                return;
            }

            for (int i = 0; i < runs; i++)
            {
                int size = _options.RecordSize;
                if (!InProcessRingBuffer.TryReserve(_ring, size, out InProcessRingBufferReservation r))
                {
                    _dropped++;
                    continue;
                }

                ulong seq = _accepted++;
                Span<byte> s = r.Span;
                MemoryMarshal.Write(s, new SequencedEvent { Cpu = 0, RecordSize = (uint)size, Sequence = seq, Check = ~seq });
                for (int off = SequencedEvent.Size; off < size; off += 8)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(s[off..], seq);
                }

                if (_options.DiscardEvery > 0 && seq % (ulong)_options.DiscardEvery == (ulong)_options.DiscardEvery - 1)
                {
                    r.Discard();
                }
                else
                {
                    r.Submit();
                }
            }
        }

        public EventProducerCounters Counters => _state is null ? new(_accepted, _dropped) : EventProgram.ReadCounters(_state)[0];

        public void Dispose()
        {
            _prog?.Dispose();
            _state?.Dispose();
        }
    }

    internal sealed class Collector
    {
        public List<ulong> Sequences { get; } = [];

        public int Torn { get; private set; }

        public void OnRecord(ReadOnlySpan<byte> record)
        {
            if (!SequencedEvent.TryRead(record, out SequencedEvent e))
            {
                Torn++;
            }

            Sequences.Add(e.Sequence);
        }
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Records_arrive_in_order_whole_and_discards_are_skipped(Backend backend)
    {
        using BpfMap ring = Backends.Create(backend, RingSpec());
        using var producer = new Producer(backend, ring, new EventProgramOptions { DiscardEvery = 4, RecordSize = 48 });
        using RingBuffer reader = RingBuffer.Open(ring);

        producer.Run(1000);
        Assert.Equal(1000 * 56, reader.ProducerPosition);
        Assert.Equal(1000 * 56, reader.AvailableBytes);
        var c = new Collector();
        Assert.Equal(750, reader.Consume(c.OnRecord));
        Assert.Equal(0, c.Torn);
        Assert.Equal(Enumerable.Range(0, 1000).Where(i => i % 4 != 3).Select(i => (ulong)i), c.Sequences);
        Assert.Equal(reader.ProducerPosition, reader.ConsumerPosition);
        Assert.Equal(new EventProducerCounters(1000, 0), producer.Counters);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_full_ring_takes_size_less_one_bytes_and_counts_the_rest_as_dropped(Backend backend)
    {
        using BpfMap ring = Backends.Create(backend, RingSpec(4096));
        using var producer = new Producer(backend, ring);
        using RingBuffer reader = RingBuffer.Open(ring);

        producer.Run(1000);
        Assert.Equal(new EventProducerCounters(127, 873), producer.Counters);
        Assert.Equal(127 * 32, reader.AvailableBytes);
        var c = new Collector();
        Assert.Equal(127, reader.Consume(c.OnRecord));
        Assert.Equal(Enumerable.Range(0, 127).Select(i => (ulong)i), c.Sequences);

        // The positions wrap the 4096 bytes many times; records stay whole across the end.
        for (int round = 0; round < 50; round++)
        {
            producer.Run(100);
            c.Sequences.Clear();
            Assert.Equal(100, reader.Consume(c.OnRecord));
            Assert.Equal(Enumerable.Range(127 + (round * 100), 100).Select(i => (ulong)i), c.Sequences);
        }

        Assert.Equal(0, c.Torn);
        Assert.Equal((127 + 5000) * 32, reader.ConsumerPosition);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public async Task Poll_wakes_when_a_record_is_submitted(Backend backend)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using BpfMap ring = Backends.Create(backend, RingSpec());
        using var producer = new Producer(backend, ring);
        using RingBuffer reader = RingBuffer.Open(ring);

        var sw = Stopwatch.StartNew();
        Assert.Equal(0, reader.Poll(TimeSpan.FromMilliseconds(30), _ => { }));
        Assert.True(sw.ElapsedMilliseconds >= 25);

        Task produce = Task.Run(async () =>
        {
            await Task.Delay(30, ct);
            producer.Run(3);
        }, ct);
        int n = 0;
        var c = new Collector();
        sw.Restart();
        while (n < 3 && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            n += reader.Poll(TimeSpan.FromSeconds(10), c.OnRecord);
        }

        await produce;
        Assert.Equal(3, n);
        Assert.Equal([0UL, 1UL, 2UL], c.Sequences);
        Assert.Equal(0, c.Torn);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"woken after {sw.Elapsed}");
    }

    [Fact]
    public void One_poller_serves_a_kernel_ring_and_an_in_process_ring()
    {
        Backends.RequireKernel();
        using BpfMap kernelRing = Backends.Create(Backend.Kernel, RingSpec());
        using BpfMap engineRing = Backends.Create(Backend.InProcess, RingSpec());
        using var kernelProducer = new Producer(Backend.Kernel, kernelRing);
        using var engineProducer = new Producer(Backend.InProcess, engineRing);
        using RingBuffer k = RingBuffer.Open(kernelRing);
        using RingBuffer e = RingBuffer.Open(engineRing);
        using var poller = new EventPoller();
        var ck = new Collector();
        var ce = new Collector();
        poller.Add(k, ck.OnRecord);
        poller.Add(e, ce.OnRecord);

        kernelProducer.Run(5);
        engineProducer.Run(7);
        int n = 0;
        var sw = Stopwatch.StartNew();
        while (n < 12 && sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            n += poller.Poll(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(12, n);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (ulong)i), ck.Sequences);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (ulong)i), ce.Sequences);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Ring_creation_refuses_what_the_kernel_refuses(Backend backend)
    {
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => Backends.Create(backend, RingSpec(3 * 4096))).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => Backends.Create(backend, RingSpec(1024))).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => Backends.Create(backend, RingSpec() with { KeySize = 4 })).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => Backends.Create(backend, RingSpec() with { Flags = MapFlags.Mmapable })).Errno);
        using BpfMap ring = Backends.Create(backend, RingSpec());
        Assert.Equal(Errno.ENOTSUPP, ring.Backend.Lookup([], [], 0));
        Assert.Equal(Errno.ENOTSUPP, ring.Backend.GetNextKey([], []));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void User_ring_records_reach_the_consumer_in_order(Backend backend)
    {
        using BpfMap ring = Backends.Create(backend, RingSpec(4096, MapType.UserRingBuf));
        using BpfMap seen = Backends.Create(backend, new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 512, Name = "conf_seen" });
        using UserRingBuffer producer = UserRingBuffer.Open(ring);
        using var drain = new UserDrain(backend, ring, seen);

        int written = 0;
        while (producer.TryWrite(BitConverter.GetBytes((ulong)(written * 3))))
        {
            written++;
        }

        Assert.Equal(256, written);
        Assert.Equal(0, producer.FreeBytes);
        Assert.Equal(256, drain.Run());
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (ulong)i * 3), drain.Seen(256));
        Assert.Equal(4096, producer.FreeBytes);

        // A reservation not yet committed stops the drain; discarded, it is skipped.
        UserRingBufferReservation discarded = producer.Reserve(0);
        producer.Write(BitConverter.GetBytes(99UL));
        Assert.Equal(0, drain.Run());
        discarded.Discard();
        Assert.Equal(1, drain.Run());
        Assert.Equal(99UL, drain.Seen(1)[0]);
        Assert.Equal(producer.ProducerPosition, producer.ConsumerPosition);
    }

    /// <summary>The consumer of a user ring: the kernel's drain program, or the engine's Drain, filling the same array.</summary>
    private sealed class UserDrain : IDisposable
    {
        private readonly BpfMap _ring;
        private readonly BpfMap _seen;
        private readonly BpfProgram? _prog;
        private uint _next;

        public UserDrain(Backend backend, BpfMap ring, BpfMap seen)
        {
            _ring = ring;
            _seen = seen;
            if (backend == Backend.Kernel)
            {
                _prog = BpfProgram.Load(ProgramType.SocketFilter, DrainProgram.Assemble(ring, seen), "GPL", new ProgramLoadOptions { Name = "conf_drain" });
            }
        }

        public int Run()
        {
            if (_prog is not null)
            {
                return unchecked((int)_prog.TestRun(Packet).ReturnValue);
            }

            // The program's count lives on its stack: every run starts at slot 0.
            _next = 0;
            var typed = new BpfMap<uint, ulong>(_seen);
            return InProcessRingBuffer.Drain(_ring, r =>
            {
                if (r.Length >= 8)
                {
                    typed.Update(_next++, BinaryPrimitives.ReadUInt64LittleEndian(r));
                }
            });
        }

        public ulong[] Seen(int n)
        {
            var typed = new BpfMap<uint, ulong>(_seen);
            return Enumerable.Range(0, n).Select(i => typed.TryLookup((uint)i, out ulong v) ? v : ulong.MaxValue).ToArray();
        }

        public void Dispose() => _prog?.Dispose();
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Mmapable_array_memory_is_the_map(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, MmapSpec());
        var typed = new BpfMap<uint, ulong>(map);
        typed.Update(3, 33);
        using (MapMemory memory = map.OpenMemory())
        {
            Assert.True(memory.IsWritable);
            Assert.Equal(64, memory.Count);
            Assert.Equal(8, memory.ElementStride);
            Assert.Equal(33UL, memory.AsReadOnlySpan<ulong>()[3]);
            memory.AsSpan<ulong>()[5] = 55;
            memory.Write(6, 66UL);
            Assert.True(typed.TryLookup(5, out ulong five));
            Assert.Equal(55UL, five);
            Assert.Equal(66UL, memory.Read<ulong>(6));
            Assert.Equal(BitConverter.GetBytes(66UL), memory.GetElement(6).ToArray());
            Assert.Throws<ArgumentOutOfRangeException>(() => memory.GetElement(64));
        }

        using MapMemory readOnly = map.OpenMemory(writable: false);
        Assert.False(readOnly.IsWritable);
        Assert.Throws<InvalidOperationException>(() => readOnly.AsSpan<ulong>());
        Assert.Equal(55UL, readOnly.Read<ulong>(5));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Values_that_are_not_a_multiple_of_eight_sit_eight_apart(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, MmapSpec(value: 12, max: 5));
        using MapMemory memory = map.OpenMemory();
        Assert.Equal(16, memory.ElementStride);
        Assert.Equal(80, memory.Length);
        memory.GetWritableElement(2).Fill(0xab);
        byte[] value = new byte[12];
        Assert.True(map.TryLookup(BitConverter.GetBytes(2u), value));
        Assert.All(value, b => Assert.Equal(0xab, b));
        Assert.Equal(0, memory.Bytes[(2 * 16) + 12]);
        var e = Assert.Throws<ArgumentException>(() => memory.AsSpan<ulong>());
        Assert.Contains("16", e.Message, StringComparison.Ordinal);
        Assert.Contains("8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_writable_mapping_keeps_the_map_from_being_frozen_and_a_frozen_map_maps_read_only(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, MmapSpec());
        MapMemory writable = map.OpenMemory();
        var busy = Assert.Throws<BpfException>(() => map.Freeze());
        Assert.Equal(Errno.EBUSY, busy.Errno);
        Assert.Contains("writable memory mapping", busy.Message, StringComparison.Ordinal);
        writable.Dispose();

        using (MapMemory readOnly = map.OpenMemory(writable: false))
        {
            map.Freeze();
        }

        var refused = Assert.Throws<BpfException>(() => map.OpenMemory());
        Assert.Equal(Errno.EPERM, refused.Errno);
        Assert.Contains("read-only", refused.Message, StringComparison.Ordinal);
        using MapMemory after = map.OpenMemory(writable: false);
        Assert.Equal(0UL, after.Read<ulong>(0));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Maps_without_memory_say_why(Backend backend)
    {
        using BpfMap plain = Backends.Create(backend, MmapSpec(flags: MapFlags.None));
        Assert.Contains("BPF_F_MMAPABLE", Assert.Throws<ArgumentException>(() => plain.OpenMemory()).Message, StringComparison.Ordinal);
        using BpfMap hash = Backends.Create(backend, new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        Assert.Contains("not an array", Assert.Throws<ArgumentException>(() => hash.OpenMemory()).Message, StringComparison.Ordinal);
        using BpfMap ring = Backends.Create(backend, RingSpec());
        Assert.Contains("RingBuffer", Assert.Throws<ArgumentException>(() => ring.OpenMemory()).Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void The_dump_of_an_mmapable_array_reads_memory_and_equals_the_batch_dump(Backend backend)
    {
        using BpfMap map = Backends.Create(backend, MmapSpec(value: 12, max: 3000));
        byte[] keys = new byte[3000 * 4], values = new byte[3000 * 12];
        for (int i = 0; i < 3000; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(i * 4), (uint)i);
            values.AsSpan(i * 12, 12).Fill((byte)(i * 7));
        }

        map.UpdateBatch(keys, values, 3000);
        var fromMemory = new List<string>();
        using (MapEnumerator e = map.Dump(new DumpOptions { BatchSize = 700 }).GetEnumerator())
        {
            while (e.MoveNext())
            {
                fromMemory.Add(Convert.ToHexString(e.Current.Key) + ":" + Convert.ToHexString(e.Current.Value));
            }

            Assert.True(e.ReadsMemory);
            Assert.Equal(5, e.Calls);
        }

        var fromBatches = new List<string>();
        using (MapEnumerator e = map.Dump(new DumpOptions { Method = DumpMethod.Batch }).GetEnumerator())
        {
            while (e.MoveNext())
            {
                fromBatches.Add(Convert.ToHexString(e.Current.Key) + ":" + Convert.ToHexString(e.Current.Value));
            }

            Assert.False(e.ReadsMemory);
        }

        Assert.Equal(3000, fromMemory.Count);
        Assert.Equal(fromBatches, fromMemory);
        using BpfMap u64 = Backends.Create(backend, MmapSpec(max: 3000));
        new BpfMap<uint, ulong>(u64).Update(2999, 7);
        (uint Key, ulong Value) last = default;
        int count = 0;
        foreach (var (k, v) in new BpfMap<uint, ulong>(u64).Dump())
        {
            last = (k, v);
            count++;
        }

        Assert.Equal(3000, count);
        Assert.Equal((2999u, 7UL), last);
    }
}

/// <summary>The BPF consumer of a user ring buffer: bpf_user_ringbuf_drain with a callback that copies each record's first 8 bytes into an array.</summary>
internal static class DrainProgram
{
    public static Asm.AssembledProgram Assemble(BpfMap ring, BpfMap seen)
    {
        var b = new Asm.InstructionBuilder();
        Asm.Label callback = b.DefineLabel(), skip = b.DefineLabel();
        b.StoreImmediate(Asm.MemorySize.DoubleWord, Asm.Register.R10, -8, 0)
            .LoadMap(Asm.Register.R1, ring)
            .LoadFunction(Asm.Register.R2, callback)
            .Mov64(Asm.Register.R3, Asm.Register.R10).Alu64(Asm.AluOp.Add, Asm.Register.R3, -8)
            .Mov64(Asm.Register.R4, 0)
            .Call(Asm.HelperFunction.UserRingbufDrain)
            .Exit();
        b.Mark(callback)
            .Mov64(Asm.Register.R7, Asm.Register.R2)
            .Mov64(Asm.Register.R3, Asm.Register.R1)
            .Mov64(Asm.Register.R1, Asm.Register.R10).Alu64(Asm.AluOp.Add, Asm.Register.R1, -8)
            .Mov64(Asm.Register.R2, 8)
            .Mov64(Asm.Register.R4, 0)
            .Mov64(Asm.Register.R5, 0)
            .Call(Asm.HelperFunction.DynptrRead)
            .JumpIf(Asm.JumpOp.NotEqual, Asm.Register.R0, 0, skip)
            .Load(Asm.MemorySize.DoubleWord, Asm.Register.R1, Asm.Register.R7, 0)
            .Store(Asm.MemorySize.Word, Asm.Register.R10, -12, Asm.Register.R1)
            .Alu64(Asm.AluOp.Add, Asm.Register.R1, 1)
            .Store(Asm.MemorySize.DoubleWord, Asm.Register.R7, 0, Asm.Register.R1)
            .LoadMap(Asm.Register.R1, seen)
            .Mov64(Asm.Register.R2, Asm.Register.R10).Alu64(Asm.AluOp.Add, Asm.Register.R2, -12)
            .Mov64(Asm.Register.R3, Asm.Register.R10).Alu64(Asm.AluOp.Add, Asm.Register.R3, -8)
            .Mov64(Asm.Register.R4, 0)
            .Call(Asm.HelperFunction.MapUpdateElem)
            .Mark(skip)
            .Mov64(Asm.Register.R0, 0)
            .Exit();
        return b.Build();
    }
}
