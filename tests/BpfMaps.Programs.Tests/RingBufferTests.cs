using System.Buffers;
using System.Diagnostics;
using BpfMaps.Events;

namespace BpfMaps.Programs.Tests;

/// <summary>The ring buffer consumer against records the kernel wrote (EventProgram through BPF_PROG_TEST_RUN).</summary>
public class RingBufferTests : KernelTest
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();

    internal static BpfMap CreateRing(int size = 1 << 16, string name = "t_ring")
        => BpfMap.Create(new MapSpec { Type = MapType.RingBuf, KeySize = 0, ValueSize = 0, MaxEntries = size, Name = name });

    /// <summary>Collects every record's sequence number, checking each is intact.</summary>
    internal sealed class Collector : IRecordHandler
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

    [Fact]
    public void Reserve_and_submit_records_arrive_in_order_and_whole()
    {
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state);
        using RingBuffer reader = RingBuffer.Open(ring);

        prog.TestRunOnCpu(0, Packet, repeat: 1000);
        Assert.Equal(1000 * 32, reader.AvailableBytes);
        var c = new Collector();
        Assert.Equal(1000, reader.Consume(c.OnRecord));
        Assert.Equal(0, c.Torn);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (ulong)i), c.Sequences);
        Assert.Equal(0, reader.AvailableBytes);
        Assert.Equal(new EventProducerCounters(1000, 0), EventProgram.ReadCounters(state)[0]);
        Assert.Equal(0, reader.Consume(c.OnRecord));
    }

    [Fact]
    public void Discarded_records_are_skipped_and_not_counted()
    {
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state, new EventProgramOptions { DiscardEvery = 3, RecordSize = 40 });
        using RingBuffer reader = RingBuffer.Open(ring);

        prog.TestRunOnCpu(0, Packet, repeat: 300);
        var c = new Collector();
        Assert.Equal(200, reader.Consume(c.OnRecord));
        Assert.Equal(0, c.Torn);
        Assert.Equal(Enumerable.Range(0, 300).Where(i => i % 3 != 2).Select(i => (ulong)i), c.Sequences);
        Assert.Equal(300 * 48, reader.ConsumerPosition);
    }

    [Fact]
    public void Ringbuf_output_records_arrive_like_reserved_ones()
    {
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state, new EventProgramOptions { Output = EventOutput.RingbufOutput, RecordSize = 64 });
        using RingBuffer reader = RingBuffer.Open(ring);

        prog.TestRunOnCpu(0, Packet, repeat: 100);
        var counting = new Counting();
        Assert.Equal(100, reader.Consume(ref counting));
        Assert.Equal(100, counting.Count);
        Assert.Equal(100 * 64, counting.Bytes);
    }

    [Fact]
    public void A_full_ring_drops_on_the_producer_side_and_keeps_what_it_took()
    {
        using BpfMap ring = CreateRing(4096);
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state);
        using RingBuffer reader = RingBuffer.Open(ring);

        prog.TestRunOnCpu(0, Packet, repeat: 1000);

        // 32 bytes a record; the producer may run at most size - 1 bytes ahead of the consumer.
        EventProducerCounters counters = EventProgram.ReadCounters(state)[0];
        Assert.Equal(new EventProducerCounters(127, 873), counters);
        var c = new Collector();
        Assert.Equal(127, reader.Consume(c.OnRecord));
        Assert.Equal(0, c.Torn);
        Assert.Equal(Enumerable.Range(0, 127).Select(i => (ulong)i), c.Sequences);

        // Room again: the sequence goes on where the accepted records stopped.
        prog.TestRunOnCpu(0, Packet, repeat: 10);
        c.Sequences.Clear();
        Assert.Equal(10, reader.Consume(c.OnRecord));
        Assert.Equal(Enumerable.Range(127, 10).Select(i => (ulong)i), c.Sequences);
    }

    [Fact]
    public async Task Poll_waits_for_records_and_times_out_without_them()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state);
        using RingBuffer reader = RingBuffer.Open(ring);

        var sw = Stopwatch.StartNew();
        Assert.Equal(0, reader.Poll(TimeSpan.FromMilliseconds(50), _ => { }));
        Assert.True(sw.ElapsedMilliseconds >= 45, $"returned after {sw.ElapsedMilliseconds} ms");

        Task produce = Task.Run(async () =>
        {
            await Task.Delay(50, ct);
            prog.TestRun(Packet, 5);
        }, ct);
        sw.Restart();
        int n = 0;
        while (n < 5 && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            n += reader.Poll(TimeSpan.FromSeconds(10), _ => { });
        }

        Assert.Equal(5, n);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"the wake-up took {sw.Elapsed}");
        await produce;
    }

    [Fact]
    public async Task Wake_and_dispose_end_a_blocked_poll()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using BpfMap ring = CreateRing();
        RingBuffer reader = RingBuffer.Open(ring);
        try
        {
            var polled = Task.Run(() => reader.Poll(Timeout.InfiniteTimeSpan, _ => { }), ct);
            await Task.Delay(50, ct);
            reader.Wake();
            Assert.Equal(0, await polled.WaitAsync(TimeSpan.FromSeconds(5), ct));

            var blocked = Task.Run(() => reader.Poll(Timeout.InfiniteTimeSpan, _ => { }), ct);
            await Task.Delay(50, ct);
            reader.Dispose();
            Assert.Equal(0, await blocked.WaitAsync(TimeSpan.FromSeconds(5), ct));
            Assert.Throws<ObjectDisposedException>(() => reader.Consume(_ => { }));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void A_handler_that_throws_consumes_its_record()
    {
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state);
        using RingBuffer reader = RingBuffer.Open(ring);
        prog.TestRun(Packet, 3);

        int seen = 0;
        Assert.Throws<FormatException>(() => reader.Consume(_ =>
        {
            if (++seen == 2)
            {
                throw new FormatException("handler failed");
            }
        }));
        var c = new Collector();
        Assert.Equal(1, reader.Consume(c.OnRecord));
        Assert.Equal([2UL], c.Sequences);
    }

    [Fact]
    public void A_second_consumer_at_once_is_refused()
    {
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state);
        using RingBuffer reader = RingBuffer.Open(ring);
        prog.TestRun(Packet, 2);

        InvalidOperationException? inner = null;
        reader.Consume(_ => inner ??= Assert.Throws<InvalidOperationException>(() => reader.Consume(_ => { })));
        Assert.NotNull(inner);
        Assert.Contains("one consumer", inner.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_a_map_that_is_not_a_ring_buffer_says_why()
    {
        using BpfMap hash = CreateCounters();
        var e = Assert.Throws<ArgumentException>(() => RingBuffer.Open(hash));
        Assert.Contains("not a ring buffer", e.Message, StringComparison.Ordinal);
        Assert.Contains("hash", e.Message, StringComparison.Ordinal);

        using BpfMap user = BpfMap.Create(new MapSpec { Type = MapType.UserRingBuf, KeySize = 0, ValueSize = 0, MaxEntries = 4096, Name = "t_user" });
        e = Assert.Throws<ArgumentException>(() => RingBuffer.Open(user));
        Assert.Contains("UserRingBuffer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_copies_records_and_honours_cancellation()
    {
        using BpfMap ring = CreateRing();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = EventProgram.Load(ring, state);
        using RingBuffer reader = RingBuffer.Open(ring);

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await reader.ReadAsync(cts.Token));

        var pending = reader.ReadAsync(TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(20, TestContext.Current.CancellationToken);
        prog.TestRun(Packet, 3);
        using (IMemoryOwner<byte> first = await pending.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken))
        {
            Assert.True(SequencedEvent.TryRead(first.Memory.Span, out SequencedEvent e));
            Assert.Equal(0UL, e.Sequence);
        }

        var seen = new List<ulong>();
        using var stop = new CancellationTokenSource();
        await foreach (IMemoryOwner<byte> r in reader.ReadAllAsync(stop.Token))
        {
            using (r)
            {
                Assert.True(SequencedEvent.TryRead(r.Memory.Span, out SequencedEvent e));
                seen.Add(e.Sequence);
                if (seen.Count == 2)
                {
                    break;
                }
            }
        }

        Assert.Equal([1UL, 2UL], seen);
    }

    [Fact]
    public async Task One_poller_serves_several_rings_each_with_its_handler()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using BpfMap ringA = CreateRing(name: "t_ring_a");
        using BpfMap ringB = CreateRing(name: "t_ring_b");
        using BpfMap stateA = EventProgram.CreateStateMap("t_state_a");
        using BpfMap stateB = EventProgram.CreateStateMap("t_state_b");
        using BpfProgram progA = EventProgram.Load(ringA, stateA);
        using BpfProgram progB = EventProgram.Load(ringB, stateB, new EventProgramOptions { RecordSize = 48 });
        using RingBuffer a = RingBuffer.Open(ringA);
        using RingBuffer b = RingBuffer.Open(ringB);
        using var poller = new EventPoller();
        var ca = new Collector();
        var cb = new Collector();
        Assert.Equal(0, poller.Add(a, ca.OnRecord));
        Assert.Equal(1, poller.Add(b, cb));
        Assert.Throws<ArgumentException>(() => poller.Add(a, ca.OnRecord));

        Assert.Equal(0, poller.Poll(TimeSpan.FromMilliseconds(20)));
        progA.TestRun(Packet, 7);
        progB.TestRun(Packet, 3);
        int n = 0;
        var sw = Stopwatch.StartNew();
        while (n < 10 && sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            n += poller.Poll(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(10, n);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (ulong)i), ca.Sequences);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => (ulong)i), cb.Sequences);
        Assert.Equal(0, ca.Torn + cb.Torn);

        var woken = Task.Run(() => poller.Poll(Timeout.InfiniteTimeSpan), ct);
        await Task.Delay(30, ct);
        poller.Wake();
        Assert.Equal(0, await woken.WaitAsync(TimeSpan.FromSeconds(5), ct));
    }
}
