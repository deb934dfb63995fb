using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using BpfMaps.Btf;

namespace BpfMaps;

/// <summary>What to create with BPF_MAP_CREATE.</summary>
public sealed record MapSpec
{
    private const DynamicallyAccessedMemberTypes Fields = DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields;

    /// <summary>
    /// Checks what every backend checks before it creates a map, whatever the kernel would say: sizes not
    /// negative, a name of at most 15 ASCII letters, digits, '_' or '.', not both <see cref="Btf"/> and
    /// <see cref="BtfTypes"/>, and an <see cref="InnerMap"/> for map-in-map types. <see cref="BpfMap.Create"/>
    /// calls it; another backend's create should too, so both refuse the same specs the same way.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is inconsistent; the message says how.</exception>
    public void Validate() => BpfMap.ValidateSpec(this);

    /// <summary>The map type.</summary>
    public required MapType Type { get; init; }

    /// <summary>Key size in bytes (4 for arrays; 0 for queue/stack).</summary>
    public required int KeySize { get; init; }

    /// <summary>Value size in bytes (4 for map-in-map: the inner map fd/id).</summary>
    public required int ValueSize { get; init; }

    /// <summary>Maximum number of entries.</summary>
    public required int MaxEntries { get; init; }

    /// <summary>Creation flags.</summary>
    public MapFlags Flags { get; init; }

    /// <summary>Name, at most 15 ASCII characters (letters, digits, '_' and '.').</summary>
    public string? Name { get; init; }

    /// <summary>Template inner map for <see cref="MapType.ArrayOfMaps"/> and <see cref="MapType.HashOfMaps"/>.</summary>
    public BpfMap? InnerMap { get; init; }

    /// <summary>NUMA node, with <see cref="MapFlags.NumaNode"/>.</summary>
    public uint NumaNode { get; init; }

    /// <summary>BTF object describing key and value, already loaded into the kernel, or null. Kernel maps only.</summary>
    public Btf.BtfObject? Btf { get; init; }

    /// <summary>
    /// BTF describing key and value as a parsed blob, or null: the alternative to <see cref="Btf"/>.
    /// <see cref="BpfMap.Create(MapSpec)"/> loads it (BPF_BTF_LOAD) for the create and closes it afterwards (the
    /// map keeps its own reference); the in-process engine keeps it and hands it back from
    /// <see cref="BpfMap.GetBtf"/>. <see cref="For{TKey, TValue}"/> fills it from C# types.
    /// </summary>
    public BtfSpec? BtfTypes { get; init; }

    /// <summary>BTF type id of the key (with <see cref="Btf"/> or <see cref="BtfTypes"/>).</summary>
    public uint BtfKeyTypeId { get; init; }

    /// <summary>BTF type id of the value (with <see cref="Btf"/> or <see cref="BtfTypes"/>).</summary>
    public uint BtfValueTypeId { get; init; }

    /// <summary>
    /// For <see cref="MapType.StructOps"/> maps: the value's type id in the kernel's BTF (vmlinux), such as
    /// <c>bpf_struct_ops_tcp_congestion_ops</c> (<c>btf_vmlinux_value_type_id</c>, Linux 5.6). The map also needs <see cref="Btf"/>.
    /// </summary>
    public uint BtfVmlinuxValueTypeId { get; init; }

    /// <summary>Type-specific extra (<c>map_extra</c>), e.g. hash count for bloom filters.</summary>
    public ulong MapExtra { get; init; }

    /// <summary>
    /// A spec for a map whose keys are <typeparamref name="TKey"/> and values <typeparamref name="TValue"/>: the
    /// sizes are theirs, and <see cref="BtfTypes"/> describes both (<see cref="BtfTypeGenerator"/>), so bpftool
    /// and <see cref="BpfMap.GetBtfFormatter"/> print entries with the C# field names, and typed views check
    /// their fields against it. Per-CPU maps: <typeparamref name="TValue"/> is one CPU's value. Map-in-map
    /// types get no BTF (the kernel refuses it for them) and need a 4-byte <typeparamref name="TValue"/> (the
    /// inner map's fd or id) and an <see cref="InnerMap"/>, set with <c>with { InnerMap = … }</c>.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TValue">The value type.</typeparam>
    /// <param name="type">The map type; not a keyless one (queue, stack, bloom filter).</param>
    /// <param name="maxEntries">Maximum number of entries.</param>
    /// <param name="name">The map name, or null.</param>
    /// <returns>The spec; change flags and the rest with <c>with { … }</c>.</returns>
    /// <exception cref="ArgumentException">A name with a NUL; a keyless map type; an array type with a key that is not a 4-byte integer
    /// (the kernel wants BTF INT u32 there); a map-in-map value that is not 4 bytes; or a type BTF cannot
    /// describe (see <see cref="BtfTypeGenerator.Add(Type)"/>).</exception>
    public static MapSpec For<[DynamicallyAccessedMembers(Fields)] TKey, [DynamicallyAccessedMembers(Fields)] TValue>(MapType type, int maxEntries, string? name = null)
        where TKey : unmanaged
        where TValue : unmanaged
    {
        if (name is not null)
        {
            BpfErrors.ThrowIfContainsNul(name, nameof(name));
        }

        if (type is MapType.Queue or MapType.Stack or MapType.BloomFilter)
        {
            BpfErrors.ThrowArgument(nameof(type), $"{type.KernelName()} maps have no key; create them with KeySize = 0");
        }

        if (type.IsArray() && typeof(TKey) != typeof(uint) && typeof(TKey) != typeof(int))
        {
            BpfErrors.ThrowArgument(nameof(type), $"{type.KernelName()} maps take a u32 index as key, not {typeof(TKey).Name}");
        }

        var spec = new MapSpec
        {
            Type = type,
            KeySize = Unsafe.SizeOf<TKey>(),
            ValueSize = Unsafe.SizeOf<TValue>(),
            MaxEntries = maxEntries,
            Name = name,
        };
        if (type.IsMapInMap())
        {
            if (spec.ValueSize != sizeof(uint))
            {
                BpfErrors.ThrowArgument(nameof(type), $"{type.KernelName()} values are 4-byte inner map fds or ids, not {typeof(TValue).Name} ({spec.ValueSize} bytes)");
            }

            // The kernel refuses BTF on map-in-map types (ENOTSUPP), and a key type without a value type (EINVAL).
            return spec;
        }

        var generator = new BtfTypeGenerator();
        uint key = generator.Add<TKey>();
        uint value = generator.Add<TValue>();
        return spec with { BtfTypes = BtfSpec.Parse(generator.Build()), BtfKeyTypeId = key, BtfValueTypeId = value };
    }
}

/// <summary>What BPF_OBJ_GET_INFO_BY_FD reports about a map (<c>struct bpf_map_info</c>).</summary>
/// <param name="Type">The map type.</param>
/// <param name="Id">The system-wide map id.</param>
/// <param name="KeySize">Key size in bytes.</param>
/// <param name="ValueSize">Value size in bytes (per CPU for per-CPU maps).</param>
/// <param name="MaxEntries">Maximum number of entries.</param>
/// <param name="Flags">Creation flags.</param>
/// <param name="Name">Map name (may be empty).</param>
/// <param name="BtfId">BTF object id, or 0.</param>
/// <param name="BtfKeyTypeId">BTF key type id, or 0.</param>
/// <param name="BtfValueTypeId">BTF value type id, or 0.</param>
/// <param name="IfIndex">Offload device, or 0.</param>
/// <param name="MapExtra">map_extra.</param>
/// <param name="BtfVmlinuxValueTypeId">For struct_ops maps, the value's type id in vmlinux's BTF, or 0.</param>
public sealed record MapInfo(
    MapType Type,
    uint Id,
    int KeySize,
    int ValueSize,
    int MaxEntries,
    MapFlags Flags,
    string Name,
    uint BtfId = 0,
    uint BtfKeyTypeId = 0,
    uint BtfValueTypeId = 0,
    uint IfIndex = 0,
    ulong MapExtra = 0,
    uint BtfVmlinuxValueTypeId = 0);
