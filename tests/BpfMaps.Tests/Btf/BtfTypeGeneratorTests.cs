using System.Runtime.CompilerServices;
using BpfMaps.Btf;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// BTF generated from C# types, read back with <see cref="BtfSpec.Parse(byte[], BtfSpec?)"/>: kinds, names,
/// sizes and member offsets, with offsets taken from the runtime's own layout of each type; and the kernel
/// accepts every blob (BPF_BTF_LOAD checks names, sizes and member offsets against the struct size).
/// </summary>
public sealed class BtfTypeGeneratorTests
{
    [Fact]
    public void Primitives_get_C_names_sizes_and_encodings()
    {
        (BtfSpec btf, BtfType t) = Describe<AllPrimitives>();
        Assert.Equal(BtfKind.Struct, t.Kind);
        Assert.Equal("AllPrimitives", t.Name);
        Assert.Equal((uint)Unsafe.SizeOf<AllPrimitives>(), t.Size);

        var expected = new (string Member, BtfKind Kind, string Name, int Size, bool Signed)[]
        {
            ("U8", BtfKind.Int, "unsigned char", 1, false),
            ("S8", BtfKind.Int, "signed char", 1, true),
            ("S16", BtfKind.Int, "short", 2, true),
            ("U16", BtfKind.Int, "unsigned short", 2, false),
            ("S32", BtfKind.Int, "int", 4, true),
            ("U32", BtfKind.Int, "unsigned int", 4, false),
            ("S64", BtfKind.Int, "long long", 8, true),
            ("U64", BtfKind.Int, "unsigned long long", 8, false),
            ("SNative", BtfKind.Int, "long", IntPtr.Size, true),
            ("UNative", BtfKind.Int, "unsigned long", IntPtr.Size, false),
            ("S128", BtfKind.Int, "__int128", 16, true),
            ("U128", BtfKind.Int, "unsigned __int128", 16, false),
            ("Flag", BtfKind.Int, "_Bool", 1, false),
            ("Letter", BtfKind.Int, "char16_t", 2, false),
            ("F16", BtfKind.Float, "_Float16", 2, false),
            ("F32", BtfKind.Float, "float", 4, false),
            ("F64", BtfKind.Float, "double", 8, false),
            ("Wide", BtfKind.Enum64, "Wide", 8, true),
            ("WideButSmall", BtfKind.Enum, "WideButSmall", 8, false),
        };
        Assert.Equal(expected.Length, t.Vlen);
        for (int i = 0; i < expected.Length; i++)
        {
            BtfMember m = t.Member(i);
            BtfType mt = btf.TypeById(m.TypeId);
            Assert.Equal(expected[i].Member, m.Name);
            Assert.Equal(expected[i].Kind, mt.Kind);
            Assert.Equal(expected[i].Name, mt.Name);
            Assert.Equal(expected[i].Size, (int)btf.SizeOf(m.TypeId));
            Assert.Equal(expected[i].Signed, mt.IsSigned);
            Assert.Equal(0, m.BitfieldSize);
            if (mt.Kind == BtfKind.Int)
            {
                Assert.Equal(expected[i].Size * 8, mt.IntBits);
            }
        }

        Assert.True(btf.TypeById(Member(t, "Flag").TypeId).IsBool);
        Assert.False(btf.TypeById(Member(t, "U8").TypeId).IsChar);

        AllPrimitives p = default;
        ref byte b = ref Unsafe.As<AllPrimitives, byte>(ref p);
        Assert.Equal(Offset(ref b, ref p.S128), Offset(Member(t, "S128")));
        Assert.Equal(0, Offset(ref b, ref p.S128) % 16); // Int128 is 16-byte aligned in .NET 8+, and BTF says where it is
        Assert.Equal(Offset(ref b, ref p.Letter), Offset(Member(t, "Letter")));
        Assert.Equal(Offset(ref b, ref p.Flag), Offset(Member(t, "Flag")));
        Assert.Equal(Offset(ref b, ref p.WideButSmall), Offset(Member(t, "WideButSmall")));
    }

    [Fact]
    public void Enums_keep_names_values_and_signedness()
    {
        (BtfSpec btf, BtfType verdict) = Describe<Verdict>();
        Assert.Equal(BtfKind.Enum, verdict.Kind);
        Assert.Equal(4u, verdict.Size);
        Assert.True(verdict.KindFlag);
        Assert.Equal([("Pass", 1UL), ("Drop", unchecked((ulong)-1L))], Values(verdict)); // Enum.GetNames order: by unsigned value

        (_, BtfType proto) = Describe<Protocol>();
        Assert.Equal(1u, proto.Size);
        Assert.False(proto.IsSigned);
        Assert.Equal([("Tcp", 6UL), ("Udp", 17UL)], Values(proto));

        (_, BtfType wide) = Describe<Wide>();
        Assert.Equal(BtfKind.Enum64, wide.Kind);
        Assert.True(wide.IsSigned);
        Assert.Equal([("Huge", 0x1_0000_0000UL), ("Small", unchecked((ulong)-2L))], Values(wide));

        (_, BtfType small) = Describe<WideButSmall>();
        Assert.Equal(BtfKind.Enum, small.Kind);
        Assert.Equal(8u, small.Size);
        Assert.Equal([("A", 1UL), ("B", (ulong)uint.MaxValue)], Values(small));
        _ = btf;
    }

    [Fact]
    public void Structs_nest_fixed_buffers_inline_arrays_and_strings()
    {
        (BtfSpec btf, BtfType t) = Describe<FlowValue>();
        Assert.Equal("FlowValue", t.Name);
        Assert.Equal((uint)Unsafe.SizeOf<FlowValue>(), t.Size);
        Assert.Equal(["Totals", "Comm", "Recent", "Label", "Raw", "Verdict", "Active", "Initial", "Short"], Names(t));

        FlowValue v = default;
        ref byte b = ref Unsafe.As<FlowValue, byte>(ref v);
        Assert.Equal(Offset(ref b, ref v.Totals), Offset(Member(t, "Totals")));
        Assert.Equal(Offset(ref b, ref v.Recent), Offset(Member(t, "Recent")));
        Assert.Equal(Offset(ref b, ref v.Label), Offset(Member(t, "Label")));
        Assert.Equal(Offset(ref b, ref v.Verdict), Offset(Member(t, "Verdict")));
        Assert.Equal(Offset(ref b, ref v.Active), Offset(Member(t, "Active")));
        Assert.Equal(Offset(ref b, ref v.Initial), Offset(Member(t, "Initial")));
        Assert.Equal(Offset(ref b, ref v.Short), Offset(Member(t, "Short")));
        unsafe
        {
            Assert.Equal(Offset(ref b, ref v.Comm[0]), Offset(Member(t, "Comm")));
            Assert.Equal(Offset(ref b, ref v.Raw[0]), Offset(Member(t, "Raw")));
        }

        BtfType totals = btf.TypeById(Member(t, "Totals").TypeId);
        Assert.Equal((BtfKind.Struct, "Stats"), (totals.Kind, totals.Name));
        Assert.Equal(["Packets", "Bytes"], Names(totals));
        Assert.Equal(8, Offset(Member(totals, "Bytes")));

        AssertArray(btf, Member(t, "Comm").TypeId, 16, "char", 1, signed: true);
        AssertArray(btf, Member(t, "Label").TypeId, 8, "char", 1, signed: true);
        AssertArray(btf, Member(t, "Short").TypeId, 6, "char", 1, signed: true);
        AssertArray(btf, Member(t, "Raw").TypeId, 4, "unsigned char", 1, signed: false);
        AssertArray(btf, Member(t, "Recent").TypeId, 4, "unsigned short", 2, signed: false);

        // One type per CLR type, one array per element and length: both strings share the char type.
        Assert.Equal(btf.TypeById(Member(t, "Comm").TypeId).ArrayElementType, btf.TypeById(Member(t, "Label").TypeId).ArrayElementType);
        Assert.Single(btf.Types(), x => x.Kind == BtfKind.Int && x.Name == "char");
        Assert.Single(btf.Types(), x => x.Kind == BtfKind.Int && x.Name == "unsigned char");
    }

    [Fact]
    public void Explicit_packed_and_sized_layouts_use_the_runtimes_offsets()
    {
        (BtfSpec btf, BtfType o) = Describe<Overlapping>();
        Assert.Equal(24u, o.Size);
        Assert.Equal([("Whole", 0), ("Low", 0), ("High", 4), ("Odd", 13)], Enumerable.Range(0, o.Vlen).Select(i => (o.Member(i).Name, (int)(o.Member(i).BitOffset / 8))));

        (_, BtfType p) = Describe<Packed>();
        Assert.Equal(11u, p.Size);
        Assert.Equal([("Tag", 0), ("Value", 1), ("Tail", 9)], Enumerable.Range(0, p.Vlen).Select(i => (p.Member(i).Name, (int)(p.Member(i).BitOffset / 8))));

        (_, BtfType s) = Describe<Sized>();
        Assert.Equal(32u, s.Size);
        Assert.Equal(1, s.Vlen);

        (_, BtfType e) = Describe<Empty>();
        Assert.Equal((1u, 0), (e.Size, e.Vlen));
        _ = btf;
    }

    [Fact]
    public void Record_struct_properties_are_named_by_the_property()
    {
        (_, BtfType t) = Describe<Point>();
        Assert.Equal(["X", "Y"], Names(t));
        Assert.Equal(8, Offset(Member(t, "Y")));
    }

    [Fact]
    public void Pointers_generics_and_dedup()
    {
        var g = new BtfTypeGenerator();
        uint node = g.Add<Node>();
        uint outer = g.Add<Outer>();
        Assert.Equal(node, g.Add<Node>());
        Type outerType = typeof(Outer);
        Assert.Equal(outer, g.Add(outerType));
        BtfSpec btf = BtfSpec.Parse(g.Build());

        BtfType n = btf.TypeById(node);
        BtfType next = btf.TypeById(Member(n, "Next").TypeId);
        Assert.Equal(BtfKind.Pointer, next.Kind);
        BtfType fwd = btf.TypeById(next.Type);
        Assert.Equal((BtfKind.Forward, "Node"), (fwd.Kind, fwd.Name)); // a pointer back to the struct being described
        Assert.Equal(0u, btf.TypeById(Member(n, "Opaque").TypeId).Type);
        Assert.Equal("int", btf.TypeById(btf.TypeById(Member(n, "Counter").TypeId).Type).Name);
        Assert.Equal(0u, btf.TypeById(Member(n, "Callback").TypeId).Type);
        Assert.Equal(8, btf.SizeOf(Member(n, "Next").TypeId));

        BtfType o = btf.TypeById(outer);
        Assert.Equal(Member(o, "A").TypeId, Member(o, "B").TypeId);
        BtfType pair = btf.TypeById(Member(o, "P").TypeId);
        Assert.Equal("Pair_Int32_Int64", pair.Name);
        Assert.Equal(8, Offset(Member(pair, "Second")));
        Assert.Single(btf.Types(), x => x.Kind == BtfKind.Struct && x.Name == "Stats");
    }

    [Fact]
    public void What_cannot_be_described_is_refused_by_name()
    {
        var g = new BtfTypeGenerator();
        Assert.Contains("reference type", Assert.Throws<ArgumentException>(() => g.Add(typeof(string))).Message);
        Assert.Contains("ref struct", Assert.Throws<ArgumentException>(() => g.Add(typeof(Span<byte>))).Message);
        Assert.Contains("open generic", Assert.Throws<ArgumentException>(() => g.Add(typeof(Pair<,>))).Message);
        Assert.Contains("field 'NotAString'", Assert.Throws<ArgumentException>(() => g.Add<WithStringOnInt>()).Message);
        Assert.Contains("UInt16", Assert.Throws<ArgumentException>(() => g.Add<WithStringOnUShortBuffer>()).Message);
        Assert.Contains("field 'value'", Assert.Throws<ArgumentException>(() => g.Add(typeof(KeyValuePair<int, string>))).Message);
    }

    [Fact]
    public void Names_become_btf_identifiers()
    {
        Assert.Equal("caf__1", BtfTypeGenerator.Identifier("café 1"));
        Assert.Equal("_9lives", BtfTypeGenerator.Identifier("9lives"));
        Assert.Equal("List_Int32", BtfTypeGenerator.TypeName(typeof(List<int>)));
    }

    [Fact]
    public void The_kernel_loads_every_generated_blob()
    {
        Infrastructure.Kernel.Require();
        var g = new BtfTypeGenerator();
        foreach (Type t in new[] { typeof(AllPrimitives), typeof(FlowKey), typeof(FlowValue), typeof(Reading), typeof(Overlapping), typeof(Packed), typeof(Sized), typeof(Point), typeof(Node), typeof(Outer), typeof(Empty), typeof(Verdict), typeof(Wide), typeof(Ports), typeof(Name6) })
        {
            g.Add(t);
        }

        byte[] blob = g.Build();
        using BtfObject loaded = BtfObject.Load(blob);
        Assert.False(loaded.Fd.IsInvalid);

        // The kernel hands back the blob it took, type for type: nothing was dropped or rewritten.
        BtfSpec back = BtfSpec.Load(loaded.Fd);
        BtfSpec sent = BtfSpec.Parse(blob);
        Assert.Equal(sent.TypeCount, back.TypeCount);
        Assert.Equal(sent.Types().Select(t => (t.Kind, t.Name)), back.Types().Select(t => (t.Kind, t.Name)));
        Assert.Contains(back.Types(), t => t.Kind == BtfKind.Struct && t.Name == nameof(FlowValue));
    }

    [Fact]
    public void MapSpec_For_fills_sizes_and_btf_and_the_kernel_creates_the_map()
    {
        MapSpec spec = MapSpec.For<FlowKey, FlowValue>(MapType.Hash, 16, "flows");
        Assert.Equal(Unsafe.SizeOf<FlowKey>(), spec.KeySize);
        Assert.Equal(Unsafe.SizeOf<FlowValue>(), spec.ValueSize);
        Assert.Equal("FlowKey", spec.BtfTypes!.TypeById(spec.BtfKeyTypeId).Name);
        Assert.Equal("FlowValue", spec.BtfTypes.TypeById(spec.BtfValueTypeId).Name);

        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(spec);
        Assert.NotEqual(0u, map.Info.BtfId);
        Assert.True(map.HasBtf);
        Assert.Equal("FlowKey", map.GetBtfKeyType()!.Value.Name);
        Assert.Equal("FlowValue", map.GetBtfValueType()!.Value.Name);

        using BpfMap perCpu = BpfMap.Create(MapSpec.For<uint, Stats>(MapType.PerCpuArray, 4, "stats"));
        Assert.Equal(16, perCpu.ValueSize);
        Assert.Equal("Stats", perCpu.GetBtfValueType()!.Value.Name);
        Assert.Equal("unsigned int", perCpu.GetBtfKeyType()!.Value.Name);
    }

    [Fact]
    public void MapSpec_For_refuses_what_the_kernel_would_and_leaves_map_in_map_without_btf()
    {
        Assert.Contains("no key", Assert.Throws<ArgumentException>(() => MapSpec.For<uint, ulong>(MapType.Queue, 4)).Message);
        Assert.Contains("u32 index", Assert.Throws<ArgumentException>(() => MapSpec.For<ulong, ulong>(MapType.Array, 4)).Message);
        Assert.Contains("4-byte", Assert.Throws<ArgumentException>(() => MapSpec.For<uint, ulong>(MapType.HashOfMaps, 4)).Message);
        MapSpec inMap = MapSpec.For<uint, uint>(MapType.ArrayOfMaps, 4);
        Assert.Null(inMap.BtfTypes);
        Assert.Equal((0u, 0u), (inMap.BtfKeyTypeId, inMap.BtfValueTypeId));

        Infrastructure.Kernel.Require();
        using BpfMap inner = Infrastructure.Kernel.Hash(4, 4, 8);
        using BpfMap outer = BpfMap.Create(inMap with { InnerMap = inner });
        Assert.Equal(0u, outer.Info.BtfId);
        Assert.Null(outer.GetBtf());
    }

    [Fact]
    public void Both_btf_sources_in_one_spec_are_refused()
    {
        Infrastructure.Kernel.Require();
        MapSpec spec = MapSpec.For<uint, Stats>(MapType.Hash, 4);
        using BtfObject loaded = BtfObject.Load(spec.BtfTypes!.RawBytes);
        Assert.Contains("both Btf", Assert.Throws<ArgumentException>(() => BpfMap.Create(spec with { Btf = loaded })).Message);
    }

    [Fact]
    public void The_kernel_reads_the_generated_types_back_as_C()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(MapSpec.For<FlowKey, FlowValue>(MapType.Hash, 4, "flows_c"));
        string c = Corpus.Bpftool.BtfDumpC(map.Info.BtfId).AssertSuccess().Stdout;
        Assert.Contains("struct FlowValue {", c, StringComparison.Ordinal);
        Assert.Contains("char Comm[16];", c, StringComparison.Ordinal);
        Assert.Contains("unsigned char Raw[4];", c, StringComparison.Ordinal);
        Assert.Contains("enum Verdict Verdict;", c, StringComparison.Ordinal);
        Assert.Contains("Drop = -1,", c, StringComparison.Ordinal);
        Assert.Contains("struct Stats Totals;", c, StringComparison.Ordinal);
        Assert.Contains("_Bool Active;", c, StringComparison.Ordinal);
    }

    internal static (BtfSpec Btf, BtfType Type) Describe<T>()
        where T : unmanaged
    {
        var g = new BtfTypeGenerator();
        uint id = g.Add<T>();
        BtfSpec btf = BtfSpec.Parse(g.Build());
        return (btf, btf.TypeById(id));
    }

    internal static BtfMember Member(BtfType t, string name)
        => Enumerable.Range(0, t.Vlen).Select(t.Member).SingleOrDefault(m => m.Name == name) is { Spec: not null } m ? m : throw new Xunit.Sdk.XunitException($"{t} has no member '{name}'");

    private static string[] Names(BtfType t) => [.. Enumerable.Range(0, t.Vlen).Select(i => t.Member(i).Name)];

    private static (string, ulong)[] Values(BtfType t) => [.. Enumerable.Range(0, t.Vlen).Select(i => (t.EnumValue(i).Name, t.EnumValue(i).Value))];

    private static int Offset(BtfMember m)
    {
        Assert.Equal(0u, m.BitOffset % 8);
        return (int)(m.BitOffset / 8);
    }

    private static int Offset<T>(ref byte start, ref T field) => (int)Unsafe.ByteOffset(ref start, ref Unsafe.As<T, byte>(ref field));

    private static void AssertArray(BtfSpec btf, uint id, uint length, string element, int elementSize, bool signed)
    {
        BtfType a = btf.TypeById(id);
        Assert.Equal(BtfKind.Array, a.Kind);
        Assert.Equal(length, a.ArrayLength);
        BtfType e = btf.TypeById(a.ArrayElementType);
        Assert.Equal((BtfKind.Int, element, elementSize, signed), (e.Kind, e.Name, (int)e.Size, e.IsSigned));
        Assert.Equal(BtfKind.Int, btf.TypeById(a.ArrayIndexType).Kind);
    }
}
