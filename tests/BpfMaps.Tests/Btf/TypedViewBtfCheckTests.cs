using BpfMaps.Btf;

#pragma warning disable CS0649 // fields only describe layouts; the tests never assign some of them

namespace BpfMaps.Tests.Btf;

/// <summary>
/// Typed views check their C# types against the map's BTF when it has some: the offset and size of each
/// field that has a BTF member of the same name, in nested structs and array elements too. The message
/// names the field, the C# type, the member and the BTF struct.
/// </summary>
public sealed class TypedViewBtfCheckTests
{
    // struct flow_value { __u64 packets; __u64 bytes; __u32 flags; __u32 pad; } as a BPF C program declares it.
    private static MapSpec FlowValueMap(MapType type = MapType.Hash)
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4, false);
        uint u64 = b.AddInt("long long unsigned int", 8, false);
        uint u64t = b.AddTypedef("__u64", u64);
        uint value = b.AddStruct("flow_value", 24, ("packets", u64t, 0), ("bytes", u64t, 8), ("flags", u32, 16), ("pad", u32, 20));
        return new MapSpec
        {
            Type = type, KeySize = 4, ValueSize = 24, MaxEntries = 4, Name = "flow_values",
            BtfTypes = BtfSpec.Parse(b.Build()), BtfKeyTypeId = u32, BtfValueTypeId = value,
        };
    }

    internal struct SwappedFlowValue
    {
        public ulong bytes;
        public ulong packets;
        public uint flags;
        public uint pad;
    }

    internal struct PascalFlowValue
    {
        public ulong Packets;
        public ulong Bytes;
        public uint Flags;
        public uint Pad;
    }

    internal struct NarrowFlagsFlowValue
    {
        public ulong packets;
        public ulong bytes;
        public ushort flags;
        public ushort other;
        public uint pad;
    }

    internal struct UnrelatedNames
    {
        public ulong A;
        public ulong B;
        public ulong C;
    }

    internal struct StatsSwapped
    {
        public ulong Bytes;
        public ulong Packets;
    }

    internal struct OuterWithSwappedStats
    {
        public StatsSwapped Totals;
        public StatsSwapped Recent;
    }

    internal struct OuterStats
    {
        public Stats Totals;
        public Stats Recent;
    }

    [Fact]
    public void A_field_at_another_offset_is_named()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(FlowValueMap());
        var e = Assert.Throws<ArgumentException>(() => new BpfMap<uint, SwappedFlowValue>(map));
        Assert.Equal(
            "value type SwappedFlowValue does not match the BTF of map 'flow_values': field 'bytes' is at offset 0 in SwappedFlowValue but BTF member 'bytes' of struct flow_value is at offset 8 (Parameter 'map')",
            e.Message);
    }

    [Fact]
    public void A_field_of_another_size_is_named()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(FlowValueMap());
        var e = Assert.Throws<ArgumentException>(() => new BpfMap<uint, NarrowFlagsFlowValue>(map));
        Assert.Contains("field 'flags' is 2 bytes in NarrowFlagsFlowValue but BTF member 'flags' of struct flow_value is 4 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_match_across_case_and_typedefs_and_unmatched_fields_are_not_compared()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(FlowValueMap());
        var pascal = new BpfMap<uint, PascalFlowValue>(map);   // Packets meets packets through the __u64 typedef
        var unrelated = new BpfMap<uint, UnrelatedNames>(map); // no names in common: only the sizes are checked
        var tuple = new BpfMap<uint, (ulong, ulong, uint, uint)>(map);

        // The views that were accepted read the same bytes, each through its own field names.
        pascal.Update(1, new PascalFlowValue { Packets = 10, Bytes = 2000, Flags = 3, Pad = 0 });
        Assert.True(tuple.TryLookup(1, out var t));
        Assert.Equal((10UL, 2000UL, 3u, 0u), t);
        Assert.True(unrelated.TryLookup(1, out var u));
        Assert.Equal((10UL, 2000UL, 3UL), (u.A, u.B, u.C));
        Assert.True(pascal.TryLookup(1, out var p));
        Assert.Equal((10UL, 2000UL, 3u), (p.Packets, p.Bytes, p.Flags));
    }

    [Fact]
    public void Nested_structs_are_compared_too()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(MapSpec.For<uint, OuterStats>(MapType.Hash, 4, "outer_stats"));
        _ = new BpfMap<uint, OuterStats>(map);
        var e = Assert.Throws<ArgumentException>(() => new BpfMap<uint, OuterWithSwappedStats>(map));
        Assert.Contains("field 'Totals.Bytes' is at offset 0 in StatsSwapped but BTF member 'Bytes' of struct Stats is at offset 8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_and_per_cpu_values_are_checked()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(MapSpec.For<Stats, uint>(MapType.Hash, 4, "stats_key"));
        var key = Assert.Throws<ArgumentException>(() => new BpfMap<StatsSwapped, uint>(map));
        Assert.StartsWith("key type StatsSwapped does not match the BTF of map 'stats_key': field 'Bytes'", key.Message, StringComparison.Ordinal);

        using BpfMap perCpu = BpfMap.Create(FlowValueMap(MapType.PerCpuHash));
        _ = new PerCpuBpfMap<uint, PascalFlowValue>(perCpu);
        var value = Assert.Throws<ArgumentException>(() => new PerCpuBpfMap<uint, SwappedFlowValue>(perCpu));
        Assert.Contains("field 'bytes' is at offset 0", value.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_privilege_to_read_the_btf_only_sizes_are_checked()
    {
        Infrastructure.Kernel.Require();
        using BpfMap map = BpfMap.Create(FlowValueMap());
        using var denied = new BpfMap(new RefuseBtf(map.Backend, Errno.EPERM));
        _ = new BpfMap<uint, SwappedFlowValue>(denied); // BTF_GET_FD_BY_ID needs CAP_SYS_ADMIN; the map itself is usable
        Assert.Throws<ArgumentException>(() => new BpfMap<uint, SwappedFlowValue>(map));

        using var broken = new BpfMap(new RefuseBtf(map.Backend, Errno.ENOMEM));
        Assert.Equal(Errno.ENOMEM, Assert.Throws<BpfException>(() => new BpfMap<uint, PascalFlowValue>(broken)).Errno);
    }

    private sealed class RefuseBtf(IMapBackend inner, int errno) : DelegatingMapBackend(inner, ownsInner: false)
    {
        public override BtfSpec? LoadBtf() => throw new BpfException(errno, BpfCommand.BPF_BTF_GET_FD_BY_ID);
    }

    [Fact]
    public void Maps_without_btf_check_only_sizes()
    {
        using BpfMap map = Infrastructure.Kernel.Hash(4, 4, 24);
        Assert.False(map.HasBtf);
        var swapped = new BpfMap<uint, SwappedFlowValue>(map);
        var pascal = new BpfMap<uint, PascalFlowValue>(map);

        // Nothing ties the names to the bytes: each view reads the first field at offset 0, whatever it calls it.
        swapped.Update(1, new SwappedFlowValue { bytes = 7, packets = 9, flags = 1 });
        Assert.True(pascal.TryLookup(1, out var p));
        Assert.Equal((7UL, 9UL, 1u), (p.Packets, p.Bytes, p.Flags));
    }

    [Fact]
    public void Array_elements_are_compared()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4, false);
        uint ports = b.AddArray(u32, u32, 2);
        uint value = b.AddStruct("ports_value", 8, ("Recent", ports, 0));
        var spec = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Name = "ports", BtfTypes = BtfSpec.Parse(b.Build()), BtfKeyTypeId = u32, BtfValueTypeId = value };

        Infrastructure.Kernel.Require();
        using BpfMap array = BpfMap.Create(spec with { BtfValueTypeId = ports });
        var e = Assert.Throws<ArgumentException>(() => new BpfMap<uint, Ports>(array));
        Assert.Contains($"Ports has 2-byte elements but BTF array [{ports}] has 4-byte elements", e.Message, StringComparison.Ordinal);

        using BpfMap map = BpfMap.Create(spec);
        _ = new BpfMap<uint, Ports>(map); // a struct in BTF, an array in C#: nothing to compare by name
        var f = Assert.Throws<ArgumentException>(() => new BpfMap<uint, RecentPorts>(map));
        Assert.Contains("field 'Recent' has 2-byte elements in RecentPorts but BTF member 'Recent' of struct ports_value has 4-byte elements", f.Message, StringComparison.Ordinal);
    }

    internal struct RecentPorts
    {
        public Ports Recent;
    }
}
