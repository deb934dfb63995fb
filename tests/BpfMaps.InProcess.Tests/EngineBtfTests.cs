using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using BpfMaps.Btf;

namespace BpfMaps.InProcess.Tests;

#pragma warning disable CS0649 // fields only describe layouts; the tests never assign some of them

/// <summary>
/// The engine keeps a map's BTF (<see cref="MapSpec.BtfTypes"/>) and hands it back, so maps created from C#
/// types format their entries, and typed views check their fields, without bpf(); and it makes the
/// kernel's create-time BTF checks with the kernel's errno.
/// </summary>
public sealed class EngineBtfTests
{
    internal enum Kind : ushort
    {
        Read = 1,
        Write = 2,
    }

    internal enum Kind32 : uint
    {
        One = 1,
    }

    [InlineArray(12)]
    [BtfString]
    internal struct Label
    {
        private byte _element0;
    }

    internal struct Key
    {
        public uint Id;
        public Kind Kind;
    }

    internal struct Counters
    {
        public ulong Calls;
        public ulong Bytes;
    }

    internal unsafe struct Value
    {
        public Counters Totals;
        public Label Name;
        public fixed short History[3];
        public bool Open;
        public double Ratio;
    }

    internal struct Key4
    {
        public ushort A;
        public ushort B;
    }

    internal struct SwappedCounters
    {
        public ulong Bytes;
        public ulong Calls;
    }

    [Fact]
    public void An_in_process_map_keeps_its_btf_and_hands_it_back()
    {
        MapSpec spec = MapSpec.For<Key, Value>(MapType.Hash, 8, "engine_btf");
        using BpfMap map = InProcessMap.Create(spec);
        Assert.NotEqual(0u, map.Info.BtfId);
        Assert.Equal(spec.BtfKeyTypeId, map.Info.BtfKeyTypeId);
        Assert.Equal(spec.BtfValueTypeId, map.Info.BtfValueTypeId);
        Assert.True(map.HasBtf);
        Assert.Same(spec.BtfTypes, map.GetBtf());
        Assert.Same(spec.BtfTypes, map.Backend.LoadBtf());
        Assert.Equal("Value", map.GetBtfValueType()!.Value.Name);
        Assert.Equal("Key", map.GetBtfKeyType()!.Value.Name);

        using BpfMap other = InProcessMap.Create(spec);
        Assert.NotEqual(map.Info.BtfId, other.Info.BtfId);

        // Type ids are what make the kernel keep a BTF object; without them the engine keeps none either.
        using BpfMap untyped = InProcessMap.Create(spec with { BtfKeyTypeId = 0, BtfValueTypeId = 0 });
        Assert.Equal(0u, untyped.Info.BtfId);
        Assert.Null(untyped.GetBtf());
        Assert.Null(untyped.GetBtfFormatter());
    }

    [Fact]
    public void An_in_process_map_formats_its_entries()
    {
        using BpfMap map = InProcessMap.Create(MapSpec.For<Key, Value>(MapType.Hash, 8, "engine_fmt"));
        var view = new BpfMap<Key, Value>(map);
        view.Update(new Key { Id = 3, Kind = Kind.Write }, Make(calls: 2, bytes: 4096, name: "disk0", open: true, ratio: 0.5));
        Assert.Equal(
            """{"key":{"Id":3,"Kind":"Write"},"value":{"Totals":{"Calls":2,"Bytes":4096},"Name":"disk0","History":[-1,0,7],"Open":true,"Ratio":0.5}}""",
            FormatAll(map).Single());
    }

    public static TheoryData<MapType> Types => new(MapType.Hash, MapType.LruHash, MapType.PerCpuHash, MapType.LruPerCpuHash, MapType.Array, MapType.PerCpuArray);

    [Theory]
    [MemberData(nameof(Types))]
    public void Formatted_entries_equal_a_kernel_maps_of_the_same_types(MapType type)
    {
        Backends.RequireKernel();
        MapSpec spec = type.IsArray() ? MapSpec.For<uint, Value>(type, 4, "btf_same") : MapSpec.For<Key, Value>(type, 8, "btf_same");
        using BpfMap kernel = BpfMap.Create(spec);
        using BpfMap engine = InProcessMap.Create(spec);
        foreach (BpfMap map in new[] { kernel, engine })
        {
            for (uint i = 0; i < 3; i++)
            {
                byte[] key = type.IsArray() ? BitConverter.GetBytes(i) : AsBytes(new Key { Id = i, Kind = (Kind)(i % 3) });
                byte[] one = AsBytes(Make(calls: i, bytes: 1000 * i, name: $"n{i}", open: i % 2 == 0, ratio: i / 4.0));
                byte[] value = new byte[map.ValueBufferSize];
                for (int cpu = 0; cpu < map.Cpus; cpu++)
                {
                    one[0] = (byte)(i + cpu); // a different Calls on each CPU
                    one.CopyTo(value, cpu * map.ValueStride);
                }

                map.Update(key, value);
            }
        }

        string[] fromKernel = [.. FormatAll(kernel).Order(StringComparer.Ordinal)];
        string[] fromEngine = [.. FormatAll(engine).Order(StringComparer.Ordinal)];
        Assert.Equal(type.IsArray() ? 4 : 3, fromKernel.Length);
        Assert.Equal(fromKernel, fromEngine);
        Assert.Contains("\"Name\":\"n1\"", fromEngine[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Typed_views_check_fields_against_the_engines_btf()
    {
        using BpfMap map = InProcessMap.Create(MapSpec.For<uint, Counters>(MapType.Hash, 4, "engine_view"));
        _ = new BpfMap<uint, Counters>(map);
        var e = Assert.Throws<ArgumentException>(() => new BpfMap<uint, SwappedCounters>(map));
        Assert.Contains("field 'Bytes' is at offset 0 in SwappedCounters but BTF member 'Bytes' of struct Counters is at offset 8", e.Message, StringComparison.Ordinal);

        using BpfMap perCpu = InProcessMap.Create(MapSpec.For<uint, Counters>(MapType.PerCpuArray, 4, "engine_pcpu"));
        Assert.Throws<ArgumentException>(() => new PerCpuBpfMap<uint, SwappedCounters>(perCpu));
    }

    [Fact]
    public void Decorated_maps_still_hand_out_their_btf()
    {
        using BpfMap map = new(new PassThrough(InProcessMap.CreateBackend(MapSpec.For<uint, Counters>(MapType.Hash, 4, "decorated"))));
        Assert.Equal("Counters", map.GetBtfValueType()!.Value.Name);
        Assert.NotNull(map.GetBtfFormatter());
        Assert.Throws<ArgumentException>(() => new BpfMap<uint, SwappedCounters>(map));
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Btf_that_does_not_fit_the_map_fails_with_the_kernels_errno(Backend backend)
    {
        MapSpec counters = MapSpec.For<uint, Counters>(MapType.Hash, 4, "btf_bad");
        MapSpec structKey = MapSpec.For<Key4, Counters>(MapType.Hash, 4, "btf_bad");
        MapSpec enumKey = MapSpec.For<Kind32, Counters>(MapType.Hash, 4, "btf_bad");
        (string Case, MapSpec Spec, int Errno)[] cases =
        [
            ("key type of another size", counters with { KeySize = 8 }, Errno.EINVAL),
            ("value type of another size", counters with { ValueSize = 24 }, Errno.EINVAL),
            ("a key type without a value type", counters with { BtfValueTypeId = 0 }, Errno.EINVAL),
            ("a value type without a key type on a hash map", counters with { BtfKeyTypeId = 0 }, Errno.EINVAL),
            ("a type id past the end", counters with { BtfValueTypeId = 1000 }, Errno.EINVAL),
            ("type ids without BTF", counters with { BtfTypes = null }, Errno.EINVAL),
            ("an array with a struct key", structKey with { Type = MapType.Array }, Errno.EINVAL),
            ("an array without a key type", counters with { Type = MapType.Array, BtfKeyTypeId = 0 }, Errno.EINVAL),
            ("a per-CPU array with a struct key", structKey with { Type = MapType.PerCpuArray }, Errno.EINVAL),
            ("an array with an enum key", enumKey with { Type = MapType.Array }, Errno.EINVAL),
        ];
        foreach (var (name, spec, errno) in cases)
        {
            Exception e = Assert.ThrowsAny<Exception>(() => Backends.Create(backend, spec).Dispose());
            int got = e switch { BpfException b => b.Errno, _ => -1 };
            Assert.True(errno == got, $"{name}: expected {Errno.Name(errno)}, got {e}");
        }

        // What the kernel accepts, the engine accepts.
        using BpfMap array = Backends.Create(backend, MapSpec.For<uint, Counters>(MapType.Array, 4, "btf_ok"));
        using BpfMap signedIndex = Backends.Create(backend, MapSpec.For<int, Counters>(MapType.PerCpuArray, 4, "btf_ok"));
        Assert.True(array.HasBtf && signedIndex.HasBtf);
    }

    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Map_in_map_types_refuse_btf(Backend backend)
    {
        using BpfMap inner = Backends.Create(backend, new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        MapSpec counters = MapSpec.For<uint, Counters>(MapType.Hash, 4, "btf_mim");
        Exception e = Assert.ThrowsAny<Exception>(() => Backends.Create(backend, counters with { Type = MapType.HashOfMaps, ValueSize = 4, BtfValueTypeId = IdOf(counters, "unsigned int"), InnerMap = inner }).Dispose());
        Assert.Equal(Errno.ENOTSUPP, Assert.IsType<BpfNotSupportedException>(e).Errno);

        using BpfMap outer = Backends.Create(backend, MapSpec.For<uint, uint>(MapType.ArrayOfMaps, 4, "btf_mim") with { InnerMap = inner });
        Assert.False(outer.HasBtf);
    }

    [Fact]
    public void What_the_engine_cannot_honour_is_not_supported()
    {
        // A value with a bpf_spin_lock: the kernel would give BPF_F_LOCK a meaning the engine does not have.
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4, false);
        uint u64 = b.AddInt("unsigned long long", 8, false);
        uint lockType = b.AddStruct("bpf_spin_lock", 4, ("val", u32, 0));
        uint value = b.AddStruct("locked", 16, ("lock", lockType, 0), ("count", u64, 8));
        var spec = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 16, MaxEntries = 4, BtfTypes = BtfSpec.Parse(b.Build()), BtfKeyTypeId = u32, BtfValueTypeId = value };
        var e = Assert.Throws<NotSupportedException>(() => InProcessMap.Create(spec));
        Assert.Contains("struct bpf_spin_lock", e.Message, StringComparison.Ordinal);

        // A plain pointer to such a struct is not a special field.
        var p = new BtfBuilder();
        uint pu32 = p.AddInt("unsigned int", 4, false);
        uint plock = p.AddStruct("bpf_spin_lock", 4, ("val", pu32, 0));
        uint ptr = p.AddPointer(plock);
        uint holder = p.AddStruct("holder", 8, ("p", ptr, 0));
        using BpfMap ok = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, BtfTypes = BtfSpec.Parse(p.Build()), BtfKeyTypeId = pu32, BtfValueTypeId = holder });
        Assert.True(ok.HasBtf);
    }

    [Fact]
    public void A_kernel_btf_object_is_refused_with_a_pointer_to_btf_types()
    {
        Backends.RequireKernel();
        MapSpec spec = MapSpec.For<uint, Counters>(MapType.Hash, 4);
        using BtfObject loaded = BtfObject.Load(spec.BtfTypes!.RawBytes);
        var e = Assert.Throws<NotSupportedException>(() => InProcessMap.Create(spec with { BtfTypes = null, Btf = loaded }));
        Assert.Contains("BtfTypes", e.Message, StringComparison.Ordinal);
    }

    private static uint IdOf(MapSpec spec, string name) => spec.BtfTypes!.FindTypes(name).Single();

    private static unsafe Value Make(ulong calls, ulong bytes, string name, bool open, double ratio)
    {
        var v = new Value { Totals = new Counters { Calls = calls, Bytes = bytes }, Open = open, Ratio = ratio };
        Encoding.ASCII.GetBytes(name, v.Name);
        v.History[0] = -1;
        v.History[2] = 7;
        return v;
    }

    private static byte[] AsBytes<T>(T value)
        where T : unmanaged
        => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    private static List<string> FormatAll(BpfMap map)
    {
        BtfEntryFormatter f = map.GetBtfFormatter() ?? throw new InvalidOperationException($"{map} has no BTF formatter");
        var result = new List<string>();
        foreach (MapEntry entry in map.Dump())
        {
            var buffer = new ArrayBufferWriter<byte>();
            var sink = new BtfJsonSink(buffer);
            f.Write(ref sink, entry.Key, entry.Value);
            result.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        return result;
    }

    private sealed class PassThrough(IMapBackend inner) : DelegatingMapBackend(inner);
}
