using System.Buffers.Binary;
using System.Runtime.InteropServices;
using BpfMaps.Events;
using BpfMaps.Programs;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// The engine's ring buffer under concurrent producers (one thread per CPU, each with its own sequence) and one
/// consumer: what a full ring refuses is counted, everything it took arrives once, in order per producer, whole.
/// Each producer goes on until the ring took 200,000 of its records (times BPFMAPS_SOAK_ITER), yielding when it is full.
/// </summary>
public class EngineRingSoakTests
{
    private static int SoakFactor => BpfMaps.Tests.Common.Soak.Iterations();

    private struct Checker(int producers) : IRecordHandler
    {
        public readonly ulong[] Next = new ulong[producers];
        public long Received, Bad;

        public void OnRecord(ReadOnlySpan<byte> record)
        {
            if (!SequencedEvent.TryRead(record, out SequencedEvent e) || e.Cpu >= (uint)Next.Length || e.Sequence != Next[e.Cpu])
            {
                Bad++;
                return;
            }

            Next[e.Cpu]++;
            Received++;
        }
    }

    [Theory]
    [InlineData(1 << 16, 32)]
    [InlineData(4096, 56)]
    public async Task Concurrent_producers_lose_nothing_they_were_told_was_taken(int ringSize, int recordSize)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int producers = Math.Max(2, Environment.ProcessorCount);
        long perProducer = 200_000L * SoakFactor / (ringSize <= 4096 ? 10 : 1);
        using BpfMap ring = InProcessMap.Create(EventConformanceTests.RingSpec(ringSize));
        using RingBuffer reader = RingBuffer.Open(ring);
        long[] accepted = new long[producers], dropped = new long[producers];
        int running = producers;

        Task[] tasks = Enumerable.Range(0, producers).Select(p => Task.Factory.StartNew(() =>
        {
            ulong seq = 0;
            while ((long)seq < perProducer)
            {
                if (!InProcessRingBuffer.TryReserve(ring, recordSize, out InProcessRingBufferReservation r))
                {
                    dropped[p]++;
                    Thread.Yield();
                    continue;
                }

                Span<byte> s = r.Span;
                MemoryMarshal.Write(s, new SequencedEvent { Cpu = (uint)p, RecordSize = (uint)recordSize, Sequence = seq, Check = ~seq });
                for (int off = SequencedEvent.Size; off < recordSize; off += 8)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(s[off..], seq);
                }

                seq++;
                r.Submit();
            }

            accepted[p] = (long)seq;
            Interlocked.Decrement(ref running);
            reader.Wake();
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        var checker = new Checker(producers);
        while (Volatile.Read(ref running) > 0)
        {
            reader.Poll(TimeSpan.FromMilliseconds(50), ref checker);
        }

        await Task.WhenAll(tasks);
        reader.Consume(ref checker);
        Assert.Equal(0, checker.Bad);
        Assert.Equal(accepted.Sum(), checker.Received);
        Assert.Equal(producers * perProducer, accepted.Sum());
        for (int p = 0; p < producers; p++)
        {
            Assert.Equal((ulong)accepted[p], checker.Next[p]);
        }

        Assert.Equal(0, reader.AvailableBytes);
        TestContext.Current.TestOutputHelper?.WriteLine($"{producers} producers x {perProducer:N0}: accepted {accepted.Sum():N0}, dropped {dropped.Sum():N0}");
    }
}
