using System.Buffers.Binary;
using BpfMaps.Asm;
using BpfMaps.Events;

namespace BpfMaps.Programs.Tests;

/// <summary>
/// The user ring buffer producer end to end: this process writes records, a BPF program drains them with
/// bpf_user_ringbuf_drain and a callback subprogram that copies each record's first 8 bytes into an array map
/// (slot = order of arrival), run through BPF_PROG_TEST_RUN. Its return value is the number drained.
/// </summary>
public class UserRingBufferTests : KernelTest
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();

    internal static BpfMap CreateUserRing(int size = 1 << 14)
        => BpfMap.Create(new MapSpec { Type = MapType.UserRingBuf, KeySize = 0, ValueSize = 0, MaxEntries = size, Name = "t_user_ring" });

    internal static BpfMap CreateSeen(int slots = 4096)
        => BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = slots, Name = "t_seen" });

    /// <summary>
    /// main: count = 0 on the stack; r0 = bpf_user_ringbuf_drain(ring, callback, &amp;count, 0); return r0.
    /// callback(dynptr, ctx): read 8 bytes of the record; seen[ctx->count++] = them; return 0.
    /// </summary>
    internal static AssembledProgram DrainProgram(BpfMap ring, BpfMap seen)
    {
        var b = new InstructionBuilder();
        Label callback = b.DefineLabel(), skip = b.DefineLabel();
        b.StoreImmediate(MemorySize.DoubleWord, Register.R10, -8, 0)
            .LoadMap(Register.R1, ring)
            .LoadFunction(Register.R2, callback)
            .Mov64(Register.R3, Register.R10).Alu64(AluOp.Add, Register.R3, -8)
            .Mov64(Register.R4, 0)
            .Call(HelperFunction.UserRingbufDrain)
            .Exit();

        b.Mark(callback)
            .Mov64(Register.R7, Register.R2)
            .Mov64(Register.R3, Register.R1)
            .Mov64(Register.R1, Register.R10).Alu64(AluOp.Add, Register.R1, -8)
            .Mov64(Register.R2, 8)
            .Mov64(Register.R4, 0)
            .Mov64(Register.R5, 0)
            .Call(HelperFunction.DynptrRead)
            .JumpIf(JumpOp.NotEqual, Register.R0, 0, skip)
            .Load(MemorySize.DoubleWord, Register.R1, Register.R7, 0)
            .Store(MemorySize.Word, Register.R10, -12, Register.R1)
            .Alu64(AluOp.Add, Register.R1, 1)
            .Store(MemorySize.DoubleWord, Register.R7, 0, Register.R1)
            .LoadMap(Register.R1, seen)
            .Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, -12)
            .Mov64(Register.R3, Register.R10).Alu64(AluOp.Add, Register.R3, -8)
            .Mov64(Register.R4, 0)
            .Call(HelperFunction.MapUpdateElem)
            .Mark(skip)
            .Mov64(Register.R0, 0)
            .Exit();
        return b.Build();
    }

    internal static BpfProgram LoadDrain(BpfMap ring, BpfMap seen)
        => BpfProgram.Load(ProgramType.SocketFilter, DrainProgram(ring, seen), "GPL", new ProgramLoadOptions { Name = "t_drain" });

    private static int Drain(BpfProgram prog) => unchecked((int)prog.TestRun(Packet).ReturnValue);

    private static ulong[] Seen(BpfMap seen, int count)
    {
        var typed = new BpfMap<uint, ulong>(seen);
        return Enumerable.Range(0, count).Select(i => typed.TryLookup((uint)i, out ulong v) ? v : ulong.MaxValue).ToArray();
    }

    private static byte[] U64(ulong v)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    [Fact]
    public void Records_written_here_reach_the_bpf_program_in_order()
    {
        using BpfMap ring = CreateUserRing();
        using BpfMap seen = CreateSeen();
        using BpfProgram prog = LoadDrain(ring, seen);
        using UserRingBuffer producer = UserRingBuffer.Open(ring);

        for (ulong i = 0; i < 100; i++)
        {
            producer.Write(U64(i * 7 + 3));
        }

        Assert.Equal(100, Drain(prog));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (ulong)i * 7 + 3), Seen(seen, 100));
        Assert.Equal(producer.ProducerPosition, producer.ConsumerPosition);
        Assert.Equal(0, Drain(prog));
    }

    [Fact]
    public void Reserved_records_are_filled_in_place_and_discarded_ones_skipped()
    {
        using BpfMap ring = CreateUserRing();
        using BpfMap seen = CreateSeen();
        using BpfProgram prog = LoadDrain(ring, seen);
        using UserRingBuffer producer = UserRingBuffer.Open(ring);

        UserRingBufferReservation a = producer.Reserve(24), b = producer.Reserve(8), c = producer.Reserve(8);
        BinaryPrimitives.WriteUInt64LittleEndian(a.Span, 11);
        BinaryPrimitives.WriteUInt64LittleEndian(b.Span, 22);
        BinaryPrimitives.WriteUInt64LittleEndian(c.Span, 33);
        a.Submit();
        b.Discard();
        c.Submit();

        Assert.Equal(2, Drain(prog));
        Assert.Equal([11UL, 33UL], Seen(seen, 2));
        Assert.Throws<InvalidOperationException>(() => a.Submit());
        Assert.Throws<InvalidOperationException>(() => b.Discard());
    }

    [Fact]
    public void A_busy_record_stops_the_drain_until_it_is_submitted()
    {
        using BpfMap ring = CreateUserRing();
        using BpfMap seen = CreateSeen();
        using BpfProgram prog = LoadDrain(ring, seen);
        using UserRingBuffer producer = UserRingBuffer.Open(ring);

        UserRingBufferReservation first = producer.Reserve(8);
        producer.Write(U64(2));
        Assert.Equal(0, Drain(prog));

        BinaryPrimitives.WriteUInt64LittleEndian(first.Span, 1);
        first.Submit();
        Assert.Equal(2, Drain(prog));
        Assert.Equal([1UL, 2UL], Seen(seen, 2));
    }

    [Fact]
    public void A_full_ring_is_a_false_try_and_room_comes_back_after_a_drain()
    {
        using BpfMap ring = CreateUserRing(4096);
        using BpfMap seen = CreateSeen();
        using BpfProgram prog = LoadDrain(ring, seen);
        using UserRingBuffer producer = UserRingBuffer.Open(ring);

        // 8 bytes of data and 8 of header: 256 records fill 4096 bytes exactly.
        int written = 0;
        while (producer.TryWrite(U64((ulong)written)))
        {
            written++;
        }

        Assert.Equal(256, written);
        Assert.Equal(0, producer.FreeBytes);
        Assert.False(producer.TryReserve(0, out UserRingBufferReservation none));
        Assert.Equal(default, none);
        var e = Assert.Throws<InvalidOperationException>(() => producer.Write(U64(0)));
        Assert.Contains("full", e.Message, StringComparison.Ordinal);

        Assert.Equal(256, Drain(prog));
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (ulong)i), Seen(seen, 256));
        Assert.Equal(4096, producer.FreeBytes);
        Assert.True(producer.TryWrite(U64(7)));
    }

    [Fact]
    public void Records_that_wrap_the_end_of_the_ring_arrive_whole()
    {
        using BpfMap ring = CreateUserRing(4096);
        using BpfMap seen = CreateSeen();
        using BpfProgram prog = LoadDrain(ring, seen);
        using UserRingBuffer producer = UserRingBuffer.Open(ring);

        // 1000-byte records (1008 in the ring) do not divide 4096: they straddle the end again and again.
        ulong next = 0;
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 3; i++)
            {
                UserRingBufferReservation r = producer.Reserve(1000);
                r.Span.Fill(0xee);
                BinaryPrimitives.WriteUInt64LittleEndian(r.Span, next++);
                r.Submit();
            }

            Assert.Equal(3, Drain(prog));
        }

        // seen holds the last round; every round started where the previous stopped.
        Assert.Equal([57UL, 58UL, 59UL], Seen(seen, 3));
        Assert.Equal(60 * 1008, producer.ConsumerPosition);
    }

    [Fact]
    public void Sizes_beyond_the_ring_are_refused_with_both_sizes()
    {
        using BpfMap ring = CreateUserRing(4096);
        using UserRingBuffer producer = UserRingBuffer.Open(ring);
        Assert.Equal(4088, producer.MaxRecordSize);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => producer.TryReserve(4089, out _));
        Assert.Contains("4089", e.Message, StringComparison.Ordinal);
        Assert.Contains("4088", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => producer.TryReserve(-1, out _));
        Assert.True(producer.TryReserve(4088, out UserRingBufferReservation whole));
        whole.Discard();
    }

    [Fact]
    public void Opening_a_map_that_is_not_a_user_ring_buffer_says_why()
    {
        using BpfMap ring = RingBufferTests.CreateRing();
        var e = Assert.Throws<ArgumentException>(() => UserRingBuffer.Open(ring));
        Assert.Contains("RingBuffer", e.Message, StringComparison.Ordinal);
        using BpfMap array = CreateSeen();
        e = Assert.Throws<ArgumentException>(() => UserRingBuffer.Open(array));
        Assert.Contains("not a user ring buffer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_open_reservation_keeps_the_memory_mapped_until_it_is_committed()
    {
        using BpfMap ring = CreateUserRing();
        UserRingBuffer producer = UserRingBuffer.Open(ring);
        UserRingBufferReservation r = producer.Reserve(8);
        int mapped = MapMappings();
        producer.Dispose();
        Assert.Equal(mapped, MapMappings());
        BinaryPrimitives.WriteUInt64LittleEndian(r.Span, 5);
        r.Submit();
        Assert.Equal(mapped - 2, MapMappings());
    }
}
