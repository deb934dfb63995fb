using System.Runtime.InteropServices;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>Push, peek and pop on queue and stack maps, and add and membership on bloom filters, against the kernel.</summary>
public class QueueStackTests
{
    private static Version KernelVersion()
    {
        string[] parts = File.ReadAllText("/proc/sys/kernel/osrelease").Trim().Split('.', '-');
        return new Version(int.Parse(parts[0]), int.Parse(parts[1]));
    }

    // Skips only where the kernel predates the map type; a newer kernel that refuses it fails the test.
    private static void RequireKernel(int major, int minor, string what)
    {
        Require();
        if (KernelVersion() < new Version(major, minor))
        {
            Assert.Skip($"{what} needs Linux {major}.{minor}; this is {KernelVersion()}");
        }
    }

    private static BpfMap Keyless(MapType type, int maxEntries = 8, int valueSize = 4, ulong mapExtra = 0)
    {
        if (type == MapType.BloomFilter)
        {
            RequireKernel(5, 16, "bloom_filter");
        }
        else
        {
            RequireKernel(4, 20, type.KernelName());
        }

        return BpfMap.Create(new MapSpec { Type = type, KeySize = 0, ValueSize = valueSize, MaxEntries = maxEntries, MapExtra = mapExtra, Name = "qs_" + type.KernelName()[..Math.Min(5, type.KernelName().Length)] });
    }

    private static List<uint> PopAll(BpfMap map)
    {
        var popped = new List<uint>();
        byte[] v = new byte[4];
        while (map.TryPop(v))
        {
            popped.Add(BitConverter.ToUInt32(v));
            Assert.True(popped.Count <= map.MaxEntries, "pop never ends");
        }

        return popped;
    }

    [Fact]
    public void Queue_is_first_in_first_out()
    {
        using BpfMap q = Keyless(MapType.Queue);
        uint[] pushed = [10, 20, 30, 40, 50];
        foreach (uint x in pushed)
        {
            q.Push(U32(x));
        }

        byte[] v = new byte[4];
        Assert.True(q.TryPeek(v));
        Assert.Equal(10u, BitConverter.ToUInt32(v));
        Assert.True(q.TryPeek(v), "peek does not remove");
        Assert.Equal(10u, BitConverter.ToUInt32(v));
        Assert.Equal(pushed, PopAll(q));
        Assert.False(q.TryPeek(v));
        Assert.False(q.TryPop(v));
    }

    [Fact]
    public void Stack_is_last_in_first_out()
    {
        using BpfMap s = Keyless(MapType.Stack);
        uint[] pushed = [10, 20, 30, 40, 50];
        foreach (uint x in pushed)
        {
            s.Push(U32(x));
        }

        byte[] v = new byte[4];
        Assert.True(s.TryPeek(v));
        Assert.Equal(50u, BitConverter.ToUInt32(v));
        Assert.Equal(pushed.Reverse(), PopAll(s));
        Assert.False(s.TryPeek(v));
        Assert.False(s.TryPop(v));
    }

    [Theory]
    [InlineData(MapType.Queue)]
    [InlineData(MapType.Stack)]
    public void Full_map_refuses_with_E2BIG_but_exist_drops_the_oldest(MapType type)
    {
        using BpfMap m = Keyless(type, maxEntries: 3);
        for (uint x = 1; x <= 3; x++)
        {
            m.Push(U32(x));
        }

        var full = Assert.Throws<BpfException>(() => m.Push(U32(4)));
        Assert.Equal(Errno.E2BIG, full.Errno);
        Assert.Equal("BPF_MAP_UPDATE_ELEM", full.Command);

        // BPF_EXIST: the kernel makes room by dropping the oldest element, 1, for a queue and a stack alike.
        m.Push(U32(4), UpdateFlags.Exist);
        m.Push(U32(5), UpdateFlags.Exist);
        Assert.Equal(type == MapType.Queue ? [3u, 4u, 5u] : [5u, 4u, 3u], PopAll(m));

        // Exist on a map with room is a plain push.
        m.Push(U32(6), UpdateFlags.Exist);
        Assert.Equal([6u], PopAll(m));
    }

    [Fact]
    public void Wrong_value_sizes_are_argument_exceptions_that_state_both_sizes()
    {
        using BpfMap q = Keyless(MapType.Queue, valueSize: 8);
        var push = Assert.Throws<MapSizeMismatchException>(() => q.Push(new byte[4]));
        Assert.Contains("4 bytes", push.Message);
        Assert.Contains("8 bytes", push.Message);
        Assert.Contains("12 bytes", Assert.Throws<MapSizeMismatchException>(() => q.TryPeek(new byte[12])).Message);
        Assert.Contains("3 bytes", Assert.Throws<MapSizeMismatchException>(() => q.TryPop(new byte[3])).Message);
        Assert.False(q.TryPop(new byte[8]), "nothing was pushed by the refused calls");

        using BpfMap b = Keyless(MapType.BloomFilter, valueSize: 8);
        Assert.Contains("7 bytes", Assert.Throws<MapSizeMismatchException>(() => b.MayContain(new byte[7])).Message);
    }

    [Fact]
    public void Other_map_types_are_invalid_operations_naming_the_type()
    {
        using BpfMap h = Hash(keySize: 4, valueSize: 4);
        byte[] v = new byte[4];
        Assert.Contains("Hash", Assert.Throws<InvalidOperationException>(() => h.Push(v)).Message);
        Assert.Contains("Hash", Assert.Throws<InvalidOperationException>(() => h.TryPeek(v)).Message);
        Assert.Contains("Hash", Assert.Throws<InvalidOperationException>(() => h.TryPop(v)).Message);
        Assert.Contains("Hash", Assert.Throws<InvalidOperationException>(() => h.MayContain(v)).Message);
        Assert.Equal(0L, h.CountEntries());

        using BpfMap q = Keyless(MapType.Queue);
        Assert.Contains("Queue is not a bloom filter", Assert.Throws<InvalidOperationException>(() => q.MayContain(v)).Message);

        // A bloom filter's lookup reads the value in, so peek (which writes the head out) is not its operation.
        using BpfMap b = Keyless(MapType.BloomFilter);
        Assert.Contains("MayContain", Assert.Throws<InvalidOperationException>(() => b.TryPeek(v)).Message);
    }

    [Fact]
    public void Push_flags_are_the_ones_the_kernel_takes()
    {
        using BpfMap q = Keyless(MapType.Queue);
        Assert.Contains("NoExist", Assert.Throws<ArgumentException>(() => q.Push(U32(1), UpdateFlags.NoExist)).Message);
        Assert.Throws<ArgumentException>(() => q.Push(U32(1), UpdateFlags.Lock));

        // What the validation stands for: the kernel itself refuses NoExist on a queue.
        Assert.Equal(Errno.EINVAL, q.UpdateOrErrno([], U32(1), UpdateFlags.NoExist));
        Assert.False(q.TryPeek(new byte[4]));

        using BpfMap b = Keyless(MapType.BloomFilter);
        Assert.Contains("Any only", Assert.Throws<ArgumentException>(() => b.Push(U32(1), UpdateFlags.Exist)).Message);
        Assert.Equal(Errno.EINVAL, b.UpdateOrErrno([], U32(1), UpdateFlags.Exist));
    }

    [Fact]
    public void Bloom_filter_has_no_false_negatives_and_says_no_to_most_strangers()
    {
        using BpfMap b = Keyless(MapType.BloomFilter, maxEntries: 200, valueSize: 8, mapExtra: 3);
        Assert.Equal(3UL, b.GetInfo().MapExtra);
        Assert.False(b.MayContain(U64(12345)), "an empty filter contains nothing");

        var rng = new Random(7);
        var pushed = new HashSet<ulong>();
        while (pushed.Count < 200)
        {
            pushed.Add((ulong)rng.NextInt64());
        }

        foreach (ulong x in pushed)
        {
            b.Push(U64(x));
        }

        foreach (ulong x in pushed)
        {
            Assert.True(b.MayContain(U64(x)), $"false negative for {x:x}");
        }

        // With 3 hashes over a bitmap sized for 200 values the false-positive rate is around 1 in 10;
        // a filter that answered true to everything would fail here.
        int positives = 0;
        for (ulong x = 0; x < 1000; x++)
        {
            if (!pushed.Contains(x) && b.MayContain(U64(x)))
            {
                positives++;
            }
        }

        Assert.InRange(positives, 0, 400);
    }

    [Fact]
    public void Bloom_filter_pop_is_not_supported_by_any_kernel()
    {
        using BpfMap b = Keyless(MapType.BloomFilter);
        b.Push(U32(1));
        var e = Assert.Throws<BpfNotSupportedException>(() => b.TryPop(new byte[4]));
        Assert.Equal(Errno.ENOTSUPP, e.Errno);
        Assert.Null(e.MinimumKernel);
        Assert.Contains("BPF_MAP_LOOKUP_AND_DELETE_ELEM", e.Message);
        Assert.True(b.MayContain(U32(1)), "the refused pop removed nothing");

        // The generic call names no minimum kernel either: there is none to upgrade to.
        var generic = Assert.Throws<BpfNotSupportedException>(() => b.TryLookupAndDelete([], new byte[4]));
        Assert.Null(generic.MinimumKernel);
        Assert.Equal(Errno.ENOTSUPP, generic.Errno);
    }

    [Fact]
    public void Bloom_filter_hash_count_goes_through_map_extra_and_the_kernel_checks_it()
    {
        using (BpfMap defaults = Keyless(MapType.BloomFilter))
        {
            Assert.Equal(0UL, defaults.GetInfo().MapExtra);
        }

        // Only the low 4 bits of map_extra are the hash count; anything above is EINVAL.
        var e = Assert.Throws<BpfException>(() => Keyless(MapType.BloomFilter, mapExtra: 16).Dispose());
        Assert.Equal(Errno.EINVAL, e.Errno);

        // Queues and stacks have no keys: a key size is EINVAL, as is map_extra.
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => BpfMap.Create(new MapSpec { Type = MapType.Queue, KeySize = 4, ValueSize = 4, MaxEntries = 4 }).Dispose()).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => BpfMap.Create(new MapSpec { Type = MapType.Stack, KeySize = 0, ValueSize = 4, MaxEntries = 4, MapExtra = 1 }).Dispose()).Errno);
    }

    [Fact]
    public void Frozen_queue_can_be_peeked_but_not_pushed_or_popped()
    {
        using BpfMap q = Keyless(MapType.Queue);
        q.Push(U32(9));
        q.Freeze();
        byte[] v = new byte[4];
        Assert.Equal(Errno.EPERM, Assert.Throws<BpfException>(() => q.Push(U32(1))).Errno);
        Assert.Equal(Errno.EPERM, Assert.Throws<BpfException>(() => q.TryPop(v)).Errno);
        Assert.True(q.TryPeek(v));
        Assert.Equal(9u, BitConverter.ToUInt32(v));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Event
    {
        public uint Pid;
        public uint Cpu;
        public ulong Time;
    }

    [Fact]
    public void Typed_queue_and_stack_keep_their_order()
    {
        using BpfMap qm = Keyless(MapType.Queue, valueSize: 16);
        using BpfMap sm = Keyless(MapType.Stack, valueSize: 16);
        var queue = new BpfQueue<Event>(qm);
        var stack = new BpfStack<Event>(sm);
        for (uint i = 1; i <= 4; i++)
        {
            queue.Push(new Event { Pid = i, Cpu = i % 2, Time = i * 1000 });
            stack.Push(new Event { Pid = i, Cpu = i % 2, Time = i * 1000 });
        }

        Assert.True(queue.TryPeek(out Event head));
        Assert.Equal(1u, head.Pid);
        Assert.True(stack.TryPeek(out Event top));
        Assert.Equal(4u, top.Pid);

        var fromQueue = new List<uint>();
        while (queue.TryPop(out Event e))
        {
            Assert.Equal(e.Pid * 1000, e.Time);
            fromQueue.Add(e.Pid);
        }

        var fromStack = new List<uint>();
        while (stack.TryPop(out Event e))
        {
            fromStack.Add(e.Pid);
        }

        Assert.Equal([1u, 2u, 3u, 4u], fromQueue);
        Assert.Equal([4u, 3u, 2u, 1u], fromStack);
        Assert.False(queue.TryPeek(out _));
        Assert.False(stack.TryPop(out _));
    }

    [Fact]
    public void Typed_views_check_type_and_size_once_at_construction()
    {
        using BpfMap q = Keyless(MapType.Queue, valueSize: 8);
        var size = Assert.Throws<ArgumentException>(() => new BpfQueue<uint>(q));
        Assert.Contains("4-byte", size.Message);
        Assert.Contains("value_size 8", size.Message);
        Assert.Contains("is queue", Assert.Throws<ArgumentException>(() => new BpfStack<ulong>(q)).Message);
        Assert.Contains("is queue", Assert.Throws<ArgumentException>(() => new BpfBloomFilter<ulong>(q)).Message);
        var ok = new BpfQueue<ulong>(q);
        ok.Push(77UL);
        Assert.True(ok.TryPop(out ulong got));
        Assert.Equal(77UL, got);

        using BpfMap h = Hash(keySize: 4, valueSize: 8);
        Assert.Contains("is hash", Assert.Throws<ArgumentException>(() => new BpfQueue<ulong>(h)).Message);
    }

    [Fact]
    public void Typed_bloom_filter()
    {
        using BpfMap m = Keyless(MapType.BloomFilter, maxEntries: 64, valueSize: 16);
        var filter = new BpfBloomFilter<Guid>(m);
        Guid[] added = Enumerable.Range(0, 32).Select(i => new Guid(i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)).ToArray();
        foreach (Guid g in added)
        {
            filter.Add(g);
        }

        Assert.All(added, g => Assert.True(filter.MayContain(g)));
        int strangers = Enumerable.Range(1000, 200).Count(i => filter.MayContain(new Guid(i, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)));
        Assert.InRange(strangers, 0, 100);
    }
}
