using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess.Tests;

/// <summary>The hash tables' parts on their own: the free element stack, the LRU list and the seqlock.</summary>
public class EnginePartsTests
{
    [Fact]
    public void Free_element_stack_hands_out_never_used_elements_in_order_until_full()
    {
        var stack = new FreeElementStack(new byte[3 * 16], 16, 3);
        Assert.Equal([0, 1, 2], new[] { stack.Take(), stack.Take(), stack.Take() });
        Assert.Equal(-1, stack.Take());
        Assert.Equal(3, stack.HighWater);
    }

    [Fact]
    public void Free_element_stack_gives_returned_elements_back_last_in_first_out()
    {
        const int stride = 12;
        byte[] elements = new byte[4 * stride];
        elements.AsSpan().Fill(0xAA);
        var stack = new FreeElementStack(elements, stride, 4);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(i, stack.Take());
        }

        stack.Return(1);
        stack.Return(3);

        // The free element's first four bytes link to the next free one, and the rest is left alone.
        Assert.Equal(1, BitConverter.ToInt32(elements, 3 * stride));
        Assert.Equal(-1, BitConverter.ToInt32(elements, 1 * stride));
        Assert.All(elements.AsSpan(3 * stride + 4, stride - 4).ToArray(), b => Assert.Equal(0xAA, b));
        Assert.Equal(3, stack.Take());
        Assert.Equal(1, stack.Take());
        Assert.Equal(-1, stack.Take());
        Assert.Equal(4, stack.HighWater);
    }

    [Fact]
    public void Free_element_stack_refuses_an_array_too_small_for_its_capacity()
    {
        Assert.Throws<ArgumentException>(() => new FreeElementStack(new byte[31], 8, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FreeElementStack(new byte[32], 2, 4));
    }

    [Fact]
    public async Task Free_element_stack_never_hands_one_element_to_two_threads()
    {
        const int capacity = 64;
        var stack = new FreeElementStack(new byte[capacity * 8], 8, capacity);
        int[] owner = new int[capacity];
        int doubles = 0;
        var threads = Enumerable.Range(1, 4).Select(t => Task.Run(() =>
        {
            var mine = new Stack<int>();
            var rnd = new Random(t);
            for (int i = 0; i < 200_000; i++)
            {
                if (mine.Count > 0 && (rnd.Next(2) == 0 || mine.Count > capacity / 4))
                {
                    int e = mine.Pop();
                    Volatile.Write(ref owner[e], 0);
                    stack.Return(e);
                }
                else
                {
                    int e = stack.Take();
                    if (e >= 0)
                    {
                        if (Interlocked.Exchange(ref owner[e], t) != 0)
                        {
                            Interlocked.Increment(ref doubles);
                        }

                        mine.Push(e);
                    }
                }
            }

            while (mine.Count > 0)
            {
                int e = mine.Pop();
                owner[e] = 0;
                stack.Return(e);
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(threads);

        Assert.Equal(0, doubles);
        var all = new List<int>();
        for (int e; (e = stack.Take()) >= 0;)
        {
            all.Add(e);
        }

        Assert.Equal(Enumerable.Range(0, capacity), all.Order());
    }

    [Fact]
    public void Lru_list_evicts_the_least_recently_pushed_or_touched()
    {
        var lru = new LruList(4);
        Assert.Equal(-1, lru.Tail);
        lru.PushFront(0);
        lru.PushFront(1);
        lru.PushFront(2);
        Assert.Equal(0, lru.Tail);
        lru.Touch(0);
        Assert.Equal(1, lru.Tail);
        lru.Remove(1);
        Assert.False(lru.Contains(1));
        Assert.Equal(2, lru.Tail);
        lru.Touch(3);
        lru.Remove(3);
        Assert.False(lru.Contains(3));
        Assert.Equal([2, 0], Drain(lru));
        Assert.Equal(-1, lru.Tail);
    }

    [Fact]
    public void Lru_list_keeps_the_order_of_a_reference_list()
    {
        const int capacity = 32;
        var lru = new LruList(capacity);
        var model = new LinkedList<int>();
        var rnd = new Random(11);
        for (int step = 0; step < 20_000; step++)
        {
            int e = rnd.Next(capacity);
            switch (rnd.Next(3))
            {
                case 0 when !model.Contains(e):
                    lru.PushFront(e);
                    model.AddFirst(e);
                    break;
                case 1:
                    lru.Touch(e);
                    if (model.Remove(e))
                    {
                        model.AddFirst(e);
                    }

                    break;
                case 2:
                    lru.Remove(e);
                    model.Remove(e);
                    break;
            }

            Assert.Equal(model.Count == 0 ? -1 : model.Last!.Value, lru.Tail);
            Assert.Equal(model.Contains(e), lru.Contains(e));
        }

        Assert.Equal(model.Reverse(), Drain(lru));
    }

    [Fact]
    public void Seqlock_lock_makes_the_counter_odd_and_unlock_moves_it_on()
    {
        int seq = 4;
        int locked = Seqlock.Lock(ref seq);
        Assert.Equal(5, locked);
        Assert.Equal(5, seq);
        Seqlock.Unlock(ref seq, locked);
        Assert.Equal(6, seq);
    }

    [Fact]
    public async Task Seqlock_lock_excludes_other_writers()
    {
        int[] seq = new int[1];
        long counter = 0;
        const int perThread = 100_000;
        var threads = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < perThread; i++)
            {
                int locked = Seqlock.Lock(ref seq[0]);
                counter++;
                Seqlock.Unlock(ref seq[0], locked);
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(threads);
        Assert.Equal(4L * perThread, counter);
        Assert.Equal(2 * 4 * perThread, seq[0]);
    }

    [Fact]
    public void Seqlock_read_retries_when_the_counter_moved_or_the_read_failed()
    {
        int[] seq = new int[1];
        var moves = new CountingReader(seq, moveCounterOnCall: 1, failOnCall: 0);
        Seqlock.Read(ref seq[0], ref moves);
        Assert.Equal(2, moves.Calls);

        var fails = new CountingReader(seq, moveCounterOnCall: 0, failOnCall: 1);
        Seqlock.Read(ref seq[0], ref fails);
        Assert.Equal(2, fails.Calls);
    }

    [Fact]
    public async Task Seqlock_read_waits_for_the_writer_to_leave()
    {
        int[] seq = new int[1];
        int locked = Seqlock.Lock(ref seq[0]);
        int calls = -1;
        var reader = Task.Run(() =>
        {
            var r = new CountingReader(seq, moveCounterOnCall: 0, failOnCall: 0);
            Seqlock.Read(ref seq[0], ref r);
            Volatile.Write(ref calls, r.Calls);
        }, TestContext.Current.CancellationToken);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.False(reader.IsCompleted);
        Seqlock.Unlock(ref seq[0], locked);
        await reader;
        Assert.Equal(1, calls);
    }

    private static List<int> Drain(LruList lru)
    {
        var order = new List<int>();
        for (int e; (e = lru.Tail) >= 0;)
        {
            order.Add(e);
            lru.Remove(e);
        }

        return order;
    }

    /// <summary>Counts its reads; on the chosen calls it plays a writer passing by, or a read that saw nonsense.</summary>
    private struct CountingReader(int[] seq, int moveCounterOnCall, int failOnCall) : ISeqlockReader
    {
        public int Calls;

        public bool TryRead()
        {
            Calls++;
            if (Calls == moveCounterOnCall)
            {
                seq[0] += 2;
            }

            return Calls != failOnCall;
        }
    }
}
