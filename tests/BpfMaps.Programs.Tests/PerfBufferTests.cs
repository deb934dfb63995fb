using System.Diagnostics;
using System.Reflection;
using BpfMaps.Events;
using BpfMaps.Interop;

namespace BpfMaps.Programs.Tests;

/// <summary>The perf event array reader against samples the kernel wrote (EventProgram with bpf_perf_event_output, test-run on a chosen CPU).</summary>
public class PerfBufferTests : KernelTest
{
    private static readonly byte[] Packet = CounterProgram.CreatePacket();

    internal static BpfMap CreatePerfArray(string name = "t_perf", int maxEntries = 0)
        => BpfMap.Create(new MapSpec { Type = MapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = maxEntries > 0 ? maxEntries : PossibleCpus.Count, Name = name });

    /// <summary>Runs the producer <paramref name="repeat"/> times on CPU 0 after 100 ms, while the test waits in a poll.</summary>
    private static Task ProduceSoon(BpfProgram prog, int repeat) => Task.Run(async () =>
    {
        await Task.Delay(100, TestContext.Current.CancellationToken);
        prog.TestRunOnCpu(0, Packet, repeat: repeat);
    }, TestContext.Current.CancellationToken);

    internal static BpfProgram LoadProducer(BpfMap perf, BpfMap state, int recordSize = 24)
        => EventProgram.Load(perf, state, new EventProgramOptions { Output = EventOutput.PerfEventOutput, RecordSize = recordSize });

    /// <summary>Every record: samples checked whole and in sequence per CPU, lost reports summed.</summary>
    internal sealed class Recorder : IPerfRecordHandler
    {
        public readonly List<(int Cpu, int Index, ulong Time, ulong Sequence, uint From)> Samples = [];
        public readonly List<PerfLost> Lost = [];
        public int Torn;
        public readonly List<string> FirstTorn = [];

        public void OnSample(in PerfSample sample)
        {
            if (!SequencedEvent.TryRead(sample.Data, out SequencedEvent e))
            {
                if (Torn++ < 3)
                {
                    FirstTorn.Add($"#{Samples.Count} cpu {sample.Cpu}: {Convert.ToHexString(sample.Data)}");
                }
            }

            Samples.Add((sample.Cpu, sample.Index, sample.Timestamp, e.Sequence, e.Cpu));
        }

        public void OnLost(in PerfLost lost) => Lost.Add(lost);
    }

    private static IEnumerable<int> OnlineCpus => Enumerable.Range(0, Environment.ProcessorCount);

    [Fact]
    public void Samples_from_every_CPU_arrive_in_order_whole_with_cpu_slot_and_timestamp()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf, new PerfBufferOptions { Timestamps = true });
        Assert.Equal(OnlineCpus.Select(c => new PerfBufferSlot(c, c)), reader.Slots);

        foreach (int cpu in OnlineCpus)
        {
            prog.TestRunOnCpu(cpu, Packet, repeat: 500);
        }

        // 8 header + 8 time + 4 size + 24 data + 4 padding.
        Assert.Equal(OnlineCpus.Count() * 500 * 48, reader.AvailableBytes);
        var r = new Recorder();
        Assert.Equal(OnlineCpus.Count() * 500, reader.ConsumeRecords(ref r));
        Assert.Equal(0, r.Torn);
        Assert.Empty(r.Lost);
        foreach (int cpu in OnlineCpus)
        {
            var mine = r.Samples.Where(s => s.Cpu == cpu).ToList();
            Assert.Equal(Enumerable.Range(0, 500).Select(i => (ulong)i), mine.Select(s => s.Sequence));
            Assert.All(mine, s => Assert.Equal((cpu, (uint)cpu), (s.Index, s.From)));
            Assert.True(mine.Zip(mine.Skip(1)).All(p => p.First.Time <= p.Second.Time), $"CPU {cpu}: timestamps go backwards");
            Assert.True(mine[0].Time > 0);
            Assert.Equal(new EventProducerCounters(500, 0), EventProgram.ReadCounters(state)[cpu]);
        }

        Assert.Equal(0, reader.AvailableBytes);
        Assert.Equal(0UL, reader.LostCount);
    }

    [Fact]
    public void The_record_handler_path_hands_over_data_with_the_kernels_padding_and_allocates_nothing()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state, recordSize: 32);
        using PerfBuffer reader = PerfBuffer.Open(perf);
        prog.TestRunOnCpu(0, Packet, repeat: 100);
        var warm = new Counting();
        reader.Consume(ref warm);
        prog.TestRunOnCpu(0, Packet, repeat: 1000);

        var counting = new Counting();
        long before = GC.GetAllocatedBytesForCurrentThread();
        int n = reader.Consume(ref counting);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, n);
        Assert.Equal(1000, counting.Count);
        Assert.Equal(1000 * 36, counting.Bytes); // 32 bytes and 4 of padding each
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData(24, false)]
    [InlineData(24, true)]
    [InlineData(256, false)]
    [InlineData(128, true)]
    public void Records_that_wrap_the_rings_end_are_reassembled(int recordSize, bool timestamps)
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state, recordSize);
        using PerfBuffer reader = PerfBuffer.Open(perf, new PerfBufferOptions { PagesPerCpu = 1, Timestamps = timestamps });
        var r = new Recorder();

        // Rounds of a few records each walk the one-page ring around many times; every record position is hit,
        // including those whose header, size field or data run over the end.
        ulong expected = 0;
        for (int round = 0; round < 200; round++)
        {
            int runs = 1 + (round % 7);
            prog.TestRunOnCpu(0, Packet, repeat: runs);
            reader.ConsumeRecords(ref r);
            expected += (ulong)runs;
        }

        Assert.True(r.Torn == 0, string.Join("\n", r.FirstTorn));
        Assert.Empty(r.Lost);
        Assert.Equal(Enumerable.Range(0, (int)expected).Select(i => (ulong)i), r.Samples.Select(s => s.Sequence));
    }

    [Fact]
    public void A_full_ring_drops_samples_and_reports_them_lost_with_the_next_sample()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf, new PerfBufferOptions { PagesPerCpu = 1 });

        prog.TestRunOnCpu(0, Packet, repeat: 1000);
        EventProducerCounters c = EventProgram.ReadCounters(state)[0];
        Assert.Equal(1000UL, c.Accepted + c.Dropped);
        Assert.True(c.Dropped > 0 && c.Accepted > 0, $"accepted {c.Accepted}, dropped {c.Dropped}");

        var r = new Recorder();
        reader.ConsumeRecords(ref r);
        Assert.Equal((int)c.Accepted, r.Samples.Count);
        Assert.Empty(r.Lost);

        // The kernel reports the count in front of the next sample it can write.
        prog.TestRunOnCpu(0, Packet, repeat: 1);
        reader.ConsumeRecords(ref r);
        Assert.Equal([new PerfLost(0, 0, c.Dropped)], r.Lost.Select(l => l with { EventId = 0 }));
        Assert.NotEqual(0UL, r.Lost[0].EventId);
        Assert.Equal(c.Dropped, reader.LostCount);
        Assert.Equal(c.Dropped, reader.GetLostCount(0));
        Assert.Equal(Enumerable.Range(0, (int)c.Accepted + 1).Select(i => (ulong)i), r.Samples.Select(s => s.Sequence));
        Assert.Equal(0, r.Torn);
    }

    [Fact]
    public void Pause_counts_samples_lost_and_disable_refuses_them_without_counting()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf);
        var r = new Recorder();

        reader.Pause();
        prog.TestRunOnCpu(0, Packet, repeat: 10);
        Assert.Equal(new EventProducerCounters(0, 10), EventProgram.ReadCounters(state)[0]);
        reader.Resume();
        prog.TestRunOnCpu(0, Packet, repeat: 1);
        reader.ConsumeRecords(ref r);
        Assert.Equal([new PerfLost(0, 0, 10)], r.Lost.Select(l => l with { EventId = 0 }));
        Assert.Single(r.Samples);

        reader.Disable();
        prog.TestRunOnCpu(0, Packet, repeat: 10);
        Assert.Equal(new EventProducerCounters(1, 20), EventProgram.ReadCounters(state)[0]);
        reader.Enable();
        prog.TestRunOnCpu(0, Packet, repeat: 1);
        reader.ConsumeRecords(ref r);
        Assert.Single(r.Lost);
        Assert.Equal([0UL, 1UL], r.Samples.Select(s => s.Sequence));
        Assert.Equal(10UL, reader.LostCount);
    }

    [Fact]
    public void Chosen_slots_read_only_their_CPU_and_dispose_takes_the_events_out_of_the_map()
    {
        if (Environment.ProcessorCount < 2)
        {
            Assert.Skip("needs two CPUs");
        }

        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        var r = new Recorder();
        using (PerfBuffer reader = PerfBuffer.Open(perf, new PerfBufferOptions { Slots = [new PerfBufferSlot(1, 1)] }))
        {
            Assert.Equal([new PerfBufferSlot(1, 1)], reader.Slots);
            prog.TestRunOnCpu(1, Packet, repeat: 3);
            prog.TestRunOnCpu(0, Packet, repeat: 3);
            reader.ConsumeRecords(ref r);
            Assert.Equal(3, r.Samples.Count);
            Assert.All(r.Samples, s => Assert.Equal((1, 1, 1u), (s.Cpu, s.Index, s.From)));
            Assert.Equal(new EventProducerCounters(0, 3), EventProgram.ReadCounters(state)[0]);
        }

        // The map is still open here; the reader's own map descriptor took its slot with it.
        prog.TestRunOnCpu(1, Packet, repeat: 2);
        Assert.Equal(new EventProducerCounters(3, 2), EventProgram.ReadCounters(state)[1]);
    }

    [Fact]
    public void A_reader_outlives_the_map_handle_it_was_opened_from()
    {
        using BpfMap state = EventProgram.CreateStateMap();
        BpfMap perf = CreatePerfArray();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf);
        perf.Dispose();
        prog.TestRunOnCpu(0, Packet, repeat: 5);
        var c = new Counting();
        Assert.Equal(5, reader.Consume(ref c));
    }

    [Fact]
    public async Task Poll_waits_for_samples_times_out_and_wakes()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf);
        var c = new Counting();

        var sw = Stopwatch.StartNew();
        Assert.Equal(0, reader.Poll(TimeSpan.FromMilliseconds(100), ref c));
        Assert.True(sw.ElapsedMilliseconds >= 90, $"returned after {sw.ElapsedMilliseconds} ms");

        Task producer = ProduceSoon(prog, 3);
        sw.Restart();
        int n = 0;
        while (n < 3 && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            n += reader.Poll(TimeSpan.FromSeconds(10), ref c);
        }

        await producer;
        Assert.Equal(3, n);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"woke after {sw.Elapsed}");

        Task waker = Task.Run(async () =>
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            reader.Wake();
        }, TestContext.Current.CancellationToken);
        sw.Restart();
        Assert.Equal(0, reader.Poll(Timeout.InfiniteTimeSpan, ref c));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        await waker;
    }

    [Fact]
    public Task With_wakeup_events_a_poll_sleeps_until_that_many_samples()
        // 4 of 8 samples do not wake the poll; 8 do. The kernel counts samples since its last wake-up, the 4 read
        // before included: the wake-up comes with the 4th of the next 8.
        => PollWakesOnlyPastTheThreshold(new PerfBufferOptions { WakeupEvents = 8 }, few: 4, enough: 8, wokenAtLeast: 4, "4 of 8 samples");

    [Fact]
    public Task A_watermark_wakes_on_bytes()
        // Each sample is 40 bytes in the ring; a 1000-byte watermark needs 26 of them. The kernel counts the watermark
        // from the ring's start, so the 400 bytes read before count too: the wake-up comes with the 16th sample of the
        // next 30 (1040 bytes).
        => PollWakesOnlyPastTheThreshold(new PerfBufferOptions { WakeupWatermark = 1000 }, few: 10, enough: 30, wokenAtLeast: 16, "400 of 1000 bytes");

    /// <summary>
    /// <paramref name="few"/> samples, below the options' wake-up threshold, leave a poll asleep until its timeout
    /// (then it reads them); <paramref name="enough"/> more wake it with at least <paramref name="wokenAtLeast"/> of
    /// them (a busy machine lets the reader in before the rest), and the rest are there to consume.
    /// </summary>
    private static async Task PollWakesOnlyPastTheThreshold(PerfBufferOptions options, int few, int enough, int wokenAtLeast, string below)
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf, options);
        var c = new Counting();

        Task fewProduced = ProduceSoon(prog, few);
        var sw = Stopwatch.StartNew();
        Assert.Equal(few, reader.Poll(TimeSpan.FromMilliseconds(700), ref c));
        Assert.True(sw.ElapsedMilliseconds >= 600, $"woke after {sw.ElapsedMilliseconds} ms on {below}");
        await fewProduced;

        Task enoughProduced = ProduceSoon(prog, enough);
        sw.Restart();
        int woken = reader.Poll(TimeSpan.FromSeconds(20), ref c);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"woke after {sw.Elapsed}");
        Assert.True(woken >= wokenAtLeast, $"woke with {woken} of {enough} samples");
        await enoughProduced;
        Assert.Equal(enough - woken, reader.Consume(ref c));
    }

    [Fact]
    public void A_handler_that_throws_loses_only_its_own_sample()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf);
        prog.TestRunOnCpu(0, Packet, repeat: 5);

        var seen = new List<ulong>();
        Assert.Throws<FormatException>(() => reader.Consume(record =>
        {
            SequencedEvent.TryRead(record, out SequencedEvent e);
            if (e.Sequence == 2)
            {
                throw new FormatException("bad record");
            }

            seen.Add(e.Sequence);
        }));
        reader.Consume(record =>
        {
            SequencedEvent.TryRead(record, out SequencedEvent e);
            seen.Add(e.Sequence);
        });
        Assert.Equal([0UL, 1UL, 3UL, 4UL], seen);
    }

    [Fact]
    public async Task One_poller_serves_a_ring_buffer_and_a_perf_buffer()
    {
        using BpfMap perf = CreatePerfArray();
        using BpfMap ring = RingBufferTests.CreateRing();
        using BpfMap perfState = EventProgram.CreateStateMap("t_pstate");
        using BpfMap ringState = EventProgram.CreateStateMap("t_rstate");
        using BpfProgram perfProg = LoadProducer(perf, perfState);
        using BpfProgram ringProg = EventProgram.Load(ring, ringState);
        using PerfBuffer perfReader = PerfBuffer.Open(perf);
        using RingBuffer ringReader = RingBuffer.Open(ring);
        using var poller = new EventPoller();
        var fromPerf = new Recorder();
        var fromRing = new RingBufferTests.Collector();
        Assert.Equal(0, poller.Add(ringReader, fromRing));
        Assert.Equal(1, poller.AddRecords(perfReader, fromPerf));
        Assert.Throws<ArgumentException>(() => poller.Add(perfReader, _ => { }));

        Assert.Equal(0, poller.Poll(TimeSpan.FromMilliseconds(50)));
        Task producer = Task.Run(async () =>
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            perfProg.TestRunOnCpu(0, Packet, repeat: 7);
            ringProg.TestRunOnCpu(0, Packet, repeat: 5);
        }, TestContext.Current.CancellationToken);
        var sw = Stopwatch.StartNew();
        int n = 0;
        while (n < 12 && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            n += poller.Poll(TimeSpan.FromSeconds(10));
        }

        await producer;
        Assert.Equal(12, n);
        Assert.Equal(7, fromPerf.Samples.Count);
        Assert.Equal(5, fromRing.Sequences.Count);

        // The poller's wake ends a wait; a perf buffer's own wake does not keep it spinning.
        perfReader.Wake();
        Assert.Equal(0, poller.Poll(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(0, poller.Poll(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public void A_failed_open_releases_what_it_had_opened()
    {
        // A frozen map refuses BPF_MAP_UPDATE_ELEM with EPERM, after the first ring's perf event, mapping and epoll
        // registration exist: all of them must be released (KernelTest checks descriptors, regions and /proc/self/maps
        // after the test).
        using BpfMap perf = CreatePerfArray("t_perf_frozen");
        perf.Freeze();
        BpfException e = Assert.Throws<BpfException>(() => PerfBuffer.Open(perf));
        Assert.Equal(Errno.EPERM, e.Errno);
        Assert.Contains("BPF_MAP_UPDATE_ELEM", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4, "at tail 124 (head 200)")]
    [InlineData(88, "at tail 208 (head 200)")]
    public unsafe void A_tail_that_is_not_at_a_record_stops_the_reader_with_the_ring_called_corrupt(int past, string where)
    {
        // The kernel's data pages are mapped read-only, so what can go wrong in the ring is the tail, the one position
        // user space writes: moved into the middle of a record, or past the head.
        using BpfMap perf = CreatePerfArray("t_perf_corrupt");
        using BpfMap state = EventProgram.CreateStateMap();
        using BpfProgram prog = LoadProducer(perf, state);
        using PerfBuffer reader = PerfBuffer.Open(perf);
        prog.TestRunOnCpu(0, Packet, repeat: 3);
        var r = new Recorder();
        Assert.Equal(3, reader.ConsumeRecords(ref r));

        // Two more samples of 40 bytes: the ring holds bytes 120 to 200, and the tail is moved from 120.
        prog.TestRunOnCpu(0, Packet, repeat: 2);
        PerfEventMmapPage* page = RingPage(reader, 0);
        Assert.Equal(120UL, page->data_tail);
        page->data_tail = 120UL + (ulong)past;

        EventSourceGoneException e = Assert.Throws<EventSourceGoneException>(() => reader.ConsumeRecords(ref r));
        Assert.Equal(0, e.Cpu);
        Assert.Contains($"the ring of CPU 0 is corrupt: {where}", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, r.Samples.Count);

        // Put back at a record, the reader goes on.
        page->data_tail = 120;
        Assert.Equal(2, reader.ConsumeRecords(ref r));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (ulong)i), r.Samples.Select(s => s.Sequence));
    }

    // The control page of a ring, whose data_tail the reader owns.
    private static unsafe PerfEventMmapPage* RingPage(PerfBuffer reader, int ring)
    {
        var rings = (Array)typeof(PerfBuffer).GetField("_rings", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(reader)!;
        object r = rings.GetValue(ring)!;
        return (PerfEventMmapPage*)Pointer.Unbox(r.GetType().GetField("Page")!.GetValue(r)!);
    }

    [Fact]
    public void Misuse_is_refused_with_the_reason()
    {
        using BpfMap ring = RingBufferTests.CreateRing();
        Assert.Contains("RingBuffer", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(ring)).Message, StringComparison.Ordinal);
        using BpfMap hash = CreateCounters();
        Assert.Contains("perf event array", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(hash)).Message, StringComparison.Ordinal);

        using BpfMap perf = CreatePerfArray(maxEntries: 2);
        Assert.Contains("PagesPerCpu 3", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(perf, new PerfBufferOptions { PagesPerCpu = 3 })).Message, StringComparison.Ordinal);
        Assert.Contains("WakeupEvents 0", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(perf, new PerfBufferOptions { WakeupEvents = 0 })).Message, StringComparison.Ordinal);
        Assert.Contains("WakeupWatermark", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(perf, new PerfBufferOptions { PagesPerCpu = 1, WakeupWatermark = 1 << 20 })).Message, StringComparison.Ordinal);
        Assert.Contains($"CPU {PossibleCpus.Count} is out of range", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(perf, new PerfBufferOptions { Slots = [new PerfBufferSlot(PossibleCpus.Count, 0)] })).Message, StringComparison.Ordinal);
        Assert.Contains("index 2 is out of range", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(perf, new PerfBufferOptions { Slots = [new PerfBufferSlot(0, 2)] })).Message, StringComparison.Ordinal);
        Assert.Contains("named twice", Assert.Throws<ArgumentException>(() => PerfBuffer.Open(perf, new PerfBufferOptions { Slots = [new PerfBufferSlot(0, 1), new PerfBufferSlot(1, 1)] })).Message, StringComparison.Ordinal);

        PerfBuffer reader = PerfBuffer.Open(perf);
        reader.Dispose();
        reader.Dispose();
        var c = new Counting();
        Assert.Throws<ObjectDisposedException>(() => reader.Consume(ref c));
        Assert.Throws<ObjectDisposedException>(reader.Pause);
    }
}
