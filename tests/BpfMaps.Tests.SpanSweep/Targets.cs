using System.Runtime.InteropServices;
using BpfMaps.Asm;
using BpfMaps.Features;
using BpfMaps.InProcess;
using BpfMaps.Programs;

namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// A map the sweep calls into, and how to put it back in its starting state before each call: hash maps
/// full (1000 entries, so a batch lookup has plenty to write), arrays written, queues full.
/// </summary>
internal sealed class MapFixture(string name, BpfMap map, BpfMap? inner, Action<MapFixture> fill) : IDisposable
{
    public string Name { get; } = name;

    public BpfMap Map { get; } = map;

    /// <summary>A map of the same backend that fits as this map's inner map (or as a map-in-map value).</summary>
    public BpfMap? Inner { get; } = inner;

    public void Reset() => fill(this);

    public void Dispose()
    {
        Map.Dispose();
        Inner?.Dispose();
    }
}

/// <summary>One receiver of the sweep: a map, a typed view over it, its backend, its descriptor, or any other object.</summary>
internal sealed record Target(string Name, object Receiver, MapFixture? Fixture, bool Kernel);

/// <summary>A handler the library would call with each record: it only counts them.</summary>
internal sealed class CountingRecordHandler : BpfMaps.Events.IRecordHandler
{
    public long Records { get; private set; }

    public void OnRecord(ReadOnlySpan<byte> record) => Records++;
}

/// <summary>Pass-through decorator: <see cref="DelegatingMapBackend"/> is public, so its methods are swept over this.</summary>
internal sealed class PassThroughBackend(IMapBackend inner) : DelegatingMapBackend(inner, ownsInner: false);

/// <summary>Every receiver the sweeps use, in a fixed order (a restarted child must plan the same calls).</summary>
internal sealed class TargetSet : IDisposable
{
    public const int HashEntries = 1000;
    public const int QueueEntries = 64;
    public const int OuterSlots = 16;

    private readonly List<IDisposable> _owned = [];

    private TargetSet(string? kernelUnavailable) => KernelUnavailable = kernelUnavailable;

    /// <summary>
    /// The types of every receiver this set makes, with or without the kernel: a static method's first
    /// parameter of one of these kinds is its subject, so that without bpf() a method on kernel handles is
    /// reported as not swept instead of being called with null.
    /// </summary>
    public static readonly Type[] ReceiverKinds =
    [
        typeof(BpfMap), typeof(IMapBackend), typeof(SafeHandle), typeof(BpfProgram), typeof(SwapDrainMap), typeof(InProcessSwapDrainMap),
        typeof(BpfMap<uint, ulong>), typeof(BpfMap<uint, uint>), typeof(PerCpuBpfMap<uint, ulong>),
        typeof(BpfQueue<ulong>), typeof(BpfStack<ulong>), typeof(BpfBloomFilter<ulong>),
        typeof(MapLayout), typeof(BpfMaps.Btf.BtfSpec), typeof(BpfMaps.Btf.BtfField), typeof(BpfMaps.Btf.IBtfValueSink),
        typeof(BpfMaps.Events.UserRingBuffer), typeof(BpfMaps.Events.IRecordHandler), typeof(BpfMaps.Events.PerfBuffer),
    ];

    public List<Target> Targets { get; } = [];

    /// <summary>Null when bpf() works; else why the kernel targets were left out.</summary>
    public string? KernelUnavailable { get; }

    /// <summary>The largest value buffer of any map, for sizing the sentinel gaps.</summary>
    public int MaxValueBuffer { get; private set; } = 8;

    public static TargetSet Create()
    {
        var set = new TargetSet(BpfFeatures.WhyUnavailable());
        if (set.KernelUnavailable is null)
        {
            set.AddKernelTargets();
        }

        set.AddInProcessTargets();
        return set;
    }

    private void AddKernelTargets()
    {
        MapFixture hash = Fixture("kernel hash", BpfMap.Create(Spec(MapType.Hash, HashEntries)), null, FillHash);
        MapFixture percpu = Fixture("kernel percpu_hash", BpfMap.Create(Spec(MapType.PerCpuHash, HashEntries)), null, FillHash);
        MapFixture array = Fixture("kernel array", BpfMap.Create(Spec(MapType.Array, HashEntries)), null, FillArray);
        MapFixture queue = Fixture("kernel queue", BpfMap.Create(Spec(MapType.Queue, QueueEntries) with { KeySize = 0 }), null, FillKeyless);
        MapFixture stack = Fixture("kernel stack", BpfMap.Create(Spec(MapType.Stack, QueueEntries) with { KeySize = 0 }), null, FillKeyless);
        MapFixture bloom = Fixture("kernel bloom_filter", BpfMap.Create(Spec(MapType.BloomFilter, QueueEntries) with { KeySize = 0 }), null, FillBloom);
        BpfMap innerTemplate = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "sweep_inner" });
        MapFixture outer = Fixture("kernel array_of_maps",
            BpfMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = OuterSlots, InnerMap = innerTemplate, Name = "sweep_outer" }),
            innerTemplate, FillOuter);

        foreach (MapFixture f in new[] { hash, percpu, array, queue, stack, bloom, outer })
        {
            AddMap(f, kernel: true);
            Add($"{f.Name} handle", f.Map.Handle!, f, kernel: true);
        }

        Add("kernel hash as BpfMap<uint, ulong>", new BpfMap<uint, ulong>(hash.Map), hash, kernel: true);
        Add("kernel array as BpfMap<uint, ulong>", new BpfMap<uint, ulong>(array.Map), array, kernel: true);
        Add("kernel array_of_maps as BpfMap<uint, uint>", new BpfMap<uint, uint>(outer.Map), outer, kernel: true);
        Add("kernel percpu_hash as PerCpuBpfMap<uint, ulong>", new PerCpuBpfMap<uint, ulong>(percpu.Map), percpu, kernel: true);
        Add("kernel queue as BpfQueue<ulong>", new BpfQueue<ulong>(queue.Map), queue, kernel: true);
        Add("kernel stack as BpfStack<ulong>", new BpfStack<ulong>(stack.Map), stack, kernel: true);
        Add("kernel bloom_filter as BpfBloomFilter<ulong>", new BpfBloomFilter<ulong>(bloom.Map), bloom, kernel: true);
        Add("kernel hash backend via DelegatingMapBackend", new PassThroughBackend(hash.Map.Backend), hash, kernel: true);

        var program = BpfProgram.Load(ProgramType.SocketFilter, new InstructionBuilder().Mov64(Register.R0, 0).Exit().Build(), "GPL", new ProgramLoadOptions { Name = "sweep_ret0" });
        _owned.Add(program);
        Add("kernel socket_filter program", program, null, kernel: true);

        var swap = SwapDrainMap.Create(Spec(MapType.Hash, QueueEntries), "sweep_swap");
        _owned.Add(swap);
        Add("kernel SwapDrainMap", swap, null, kernel: true);
        AddEventTargets(BpfMap.Create, "kernel", kernel: true);

        // Perf event arrays hold kernel perf events: the engine has none, so these are kernel targets only.
        BpfMap perf = BpfMap.Create(new MapSpec { Type = MapType.PerfEventArray, KeySize = 4, ValueSize = 4, MaxEntries = PossibleCpus.Count, Name = "sweep_perf" });
        _owned.Add(perf);
        Add("kernel perf_event_array", perf, null, kernel: true);
        var reader = BpfMaps.Events.PerfBuffer.Open(perf, new BpfMaps.Events.PerfBufferOptions { PagesPerCpu = 1 });
        _owned.Add(reader);
        Add("kernel perf_event_array as PerfBuffer", reader, null, kernel: true);
    }

    // Ring buffer maps (every BpfMap method runs on them too), a user ring buffer's producer, and a record handler.
    private void AddEventTargets(Func<MapSpec, BpfMap> create, string prefix, bool kernel)
    {
        BpfMap ring = create(new MapSpec { Type = MapType.RingBuf, KeySize = 0, ValueSize = 0, MaxEntries = 1 << 16, Name = "sweep_ring" });
        _owned.Add(ring);
        Add($"{prefix} ringbuf", ring, null, kernel);
        BpfMap user = create(new MapSpec { Type = MapType.UserRingBuf, KeySize = 0, ValueSize = 0, MaxEntries = 1 << 16, Name = "sweep_uring" });
        _owned.Add(user);
        var producer = BpfMaps.Events.UserRingBuffer.Open(user);
        _owned.Add(producer);
        Add($"{prefix} user_ringbuf as UserRingBuffer", producer, null, kernel);
    }

    private void AddInProcessTargets()
    {
        MapFixture hash = Fixture("in-process hash", InProcessMap.Create(Spec(MapType.Hash, HashEntries)), null, FillHash);
        MapFixture percpu = Fixture("in-process percpu_hash", InProcessMap.Create(Spec(MapType.PerCpuHash, HashEntries)), null, FillHash);
        MapFixture lru = Fixture("in-process lru_hash", InProcessMap.Create(Spec(MapType.LruHash, HashEntries * 2)), null, FillHash);
        MapFixture array = Fixture("in-process array", InProcessMap.Create(Spec(MapType.Array, HashEntries)), null, FillArray);
        BpfMap innerTemplate = InProcessMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = "sweep_inner" });
        MapFixture outer = Fixture("in-process array_of_maps",
            InProcessMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = OuterSlots, InnerMap = innerTemplate, Name = "sweep_outer" }),
            innerTemplate, FillOuter);

        foreach (MapFixture f in new[] { hash, percpu, lru, array, outer })
        {
            AddMap(f, kernel: false);
        }

        Add("in-process hash as BpfMap<uint, ulong>", new BpfMap<uint, ulong>(hash.Map), hash, kernel: false);
        Add("in-process array as BpfMap<uint, ulong>", new BpfMap<uint, ulong>(array.Map), array, kernel: false);
        Add("in-process percpu_hash as PerCpuBpfMap<uint, ulong>", new PerCpuBpfMap<uint, ulong>(percpu.Map), percpu, kernel: false);
        Add("in-process hash backend via DelegatingMapBackend", new PassThroughBackend(hash.Map.Backend), hash, kernel: false);

        var swap = InProcessSwapDrainMap.Create(Spec(MapType.Hash, QueueEntries), null, "sweep_swap");
        _owned.Add(swap);
        Add("in-process InProcessSwapDrainMap", swap, null, kernel: false);

        AddEventTargets(s => InProcessMap.Create(s), "in-process", kernel: false);
        Add("a record handler", new CountingRecordHandler(), null, kernel: false);

        var btf = new BpfMaps.Btf.BtfBuilder();
        uint u32 = btf.AddInt("u32", 4, isSigned: false);
        uint pair = btf.AddStruct("pair", 8, ("a", u32, 0), ("b", u32, 4));
        var spec = BpfMaps.Btf.BtfSpec.Parse(btf.Build());
        Add("a small BtfSpec", spec, null, kernel: false);
        Add("field b of struct pair", BpfMaps.Btf.BtfFormatter.Compile(spec, pair).Fields[1], null, kernel: false);
        Add("a BtfJsonSink", new BpfMaps.Btf.BtfJsonSink(new System.Buffers.ArrayBufferWriter<byte>()), null, kernel: false);
        Add("a BtfTextSink", new BpfMaps.Btf.BtfTextSink(new System.Buffers.ArrayBufferWriter<byte>()), null, kernel: false);
        Add("a BtfJsonWriterSink", new BpfMaps.Btf.BtfJsonWriterSink(new System.Text.Json.Utf8JsonWriter(new System.Buffers.ArrayBufferWriter<byte>())), null, kernel: false);
    }

    private void AddMap(MapFixture f, bool kernel)
    {
        Add(f.Name, f.Map, f, kernel);
        Add($"{f.Name} backend", f.Map.Backend, f, kernel);
        Add($"{f.Name} layout", f.Map.Layout, f, kernel);
    }

    private MapFixture Fixture(string name, BpfMap map, BpfMap? inner, Action<MapFixture> fill)
    {
        var f = new MapFixture(name, map, inner, fill);
        _owned.Add(f);
        MaxValueBuffer = Math.Max(MaxValueBuffer, map.ValueBufferSize);
        f.Reset();
        return f;
    }

    private void Add(string name, object receiver, MapFixture? fixture, bool kernel) => Targets.Add(new Target(name, receiver, fixture, kernel));

    private static MapSpec Spec(MapType type, int maxEntries)
        => new() { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = maxEntries, Name = "sweep_" + type.KernelName()[..Math.Min(9, type.KernelName().Length)] };

    private static void FillHash(MapFixture f) => WriteKeys(f.Map, HashEntries);

    private static void FillArray(MapFixture f) => WriteKeys(f.Map, f.Map.MaxEntries);

    // Keys 0..n-1 with values whose every byte is 0x11. A call that added a key of sentinel bytes can
    // leave a full hash map without room for a key it deleted: then empty it and write again.
    private static void WriteKeys(BpfMap map, int n)
    {
        byte[] keys = new byte[n * 4];
        for (int i = 0; i < n; i++)
        {
            MemoryMarshal.Write(keys.AsSpan(i * 4), i);
        }

        byte[] values = new byte[n * map.ValueBufferSize];
        values.AsSpan().Fill(0x11);
        try
        {
            map.UpdateBatch(keys, values);
        }
        catch (BpfException)
        {
            foreach (MapEntry _ in map.Drain())
            {
            }

            map.UpdateBatch(keys, values);
        }
    }

    private static void FillKeyless(MapFixture f)
    {
        byte[] value = new byte[8];
        for (int i = 0; i < QueueEntries; i++)
        {
            MemoryMarshal.Write(value, (ulong)i);
            f.Map.Push(value, UpdateFlags.Exist);
        }
    }

    private static void FillBloom(MapFixture f)
    {
        byte[] value = new byte[8];
        for (int i = 0; i < 8; i++)
        {
            MemoryMarshal.Write(value, (ulong)i);
            f.Map.Push(value);
        }
    }

    // Only empty slots are written: a map-in-map update waits for an RCU grace period in the kernel.
    private static void FillOuter(MapFixture f)
    {
        byte[] key = new byte[4];
        byte[] id = new byte[4];
        for (int i = 0; i < OuterSlots; i++)
        {
            MemoryMarshal.Write(key, i);
            if (!f.Map.TryLookup(key, id))
            {
                f.Map.SetInnerMap(key, f.Inner!);
            }
        }
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }
}
