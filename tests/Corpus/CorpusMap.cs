namespace BpfMaps.Tests.Corpus;

/// <summary>
/// One map of the BTF corpus: its stable logical name (<c>object/map</c>), the object and the file
/// name libbpf pins it under, its type, and what it is there to cover. <see cref="All"/> lists
/// every map the corpus objects define; the corpus tests check that exactly these get pinned.
/// </summary>
/// <param name="Name">The logical name tests use, e.g. <c>flows/flows</c> or <c>globals/.bss</c>.</param>
/// <param name="ObjectName">The object (source <c>tests/Corpus/btf/OBJECT.bpf.c</c>).</param>
/// <param name="PinName">The file name under the object's pinned maps directory. libbpf names a data section's map after the object and section with dots made underscores (<c>globals_bss</c>), but a custom section without the object prefix (<c>_data_custom</c>).</param>
/// <param name="Type">The map type.</param>
/// <param name="HasBtf">Whether the kernel map refers to BTF. libbpf gives map-in-map outer maps none.</param>
/// <param name="Covers">What the map is for, in a few words.</param>
public sealed record CorpusMap(string Name, string ObjectName, string PinName, MapType Type, bool HasBtf, string Covers)
{
    /// <summary>Every map of every corpus object.</summary>
    public static IReadOnlyList<CorpusMap> All { get; } =
    [
        new("flows/flows", "flows", "flows", MapType.Hash, true,
            "the feature request's flow table: struct key with a tail hole; comm string, u64 counters (one at u64 max), bool, negative int after a hole"),
        new("flows/flows_lru", "flows", "flows_lru", MapType.LruHash, true, "the same key and value in an LRU hash"),
        new("flows/flows_percpu", "flows", "flows_percpu", MapType.PerCpuHash, true, "struct counters per CPU: CPU n holds packets n+1, bytes (n+1)*1000"),
        new("flows/slots_percpu", "flows", "slots_percpu", MapType.PerCpuArray, true, "u64 per CPU: slot s on CPU n holds s*100+n+1; slots 2 and 3 zero"),

        new("scalars/int_limits", "scalars", "int_limits", MapType.Array, true,
            "signed and unsigned 1/2/4/8-byte ints at their limits, char, signed/unsigned char, _Bool, __int128 and unsigned __int128; slot 1 all zero"),
        new("scalars/enum_values", "scalars", "enum_values", MapType.Array, true,
            "enums by name, unmatched, above INT_MAX, negative, 1-byte (packed) and 8-byte (clang 14: ENUM, not ENUM64)"),
        new("scalars/qualified", "scalars", "qualified", MapType.Array, true, "typedef chains, volatile, const, const volatile, an array of const char"),
        new("scalars/by_u8", "scalars", "by_u8", MapType.Hash, true, "a 1-byte key (__u8)"),
        new("scalars/by_rgb", "scalars", "by_rgb", MapType.Hash, true, "a 3-byte struct key (three __u8) and a bare enum value"),

        new("arrays/char_arrays", "arrays", "char_arrays", MapType.Array, true,
            "char arrays as strings and as numbers: printable, backslash and double quote, single quote, control byte, high bytes, no NUL, all zero, NUL first, unsigned/signed char, __u8"),
        new("arrays/number_arrays", "arrays", "number_arrays", MapType.Array, true, "int and u16 arrays, 2-D int and char arrays, an array of structs, a flexible array member"),
        new("arrays/names", "arrays", "names", MapType.Hash, true, "a value that is a bare char[16]"),
        new("arrays/by_name", "arrays", "by_name", MapType.Hash, true, "a key that is a bare char[8]"),

        new("layouts/bits", "layouts", "bits", MapType.Array, true, "bitfields: 1 and 3 bits, across a byte boundary, signed, 40 bits of a u64, 2 bits of a u8"),
        new("layouts/holes", "layouts", "holes", MapType.Array, true, "holes between members and tail padding, all filled with 0xee in the raw value"),
        new("layouts/anon", "layouts", "anon", MapType.Array, true, "an anonymous union and an anonymous struct member (both named \"\"), a named union member"),
        new("layouts/words", "layouts", "words", MapType.Hash, true, "a value that is a bare union"),
        new("layouts/pointers", "layouts", "pointers", MapType.Array, true,
            "pointers to void, struct, FWD, restrict, type-tagged, const char, function; decl tags on the struct and a member"),

        new("mapinmap/outer_array", "mapinmap", "outer_array", MapType.ArrayOfMaps, false, "array of maps: slots 0 and 2 hold inner_a and inner_b"),
        new("mapinmap/outer_hash", "mapinmap", "outer_hash", MapType.HashOfMaps, false, "hash of maps: keys 1 and 3 hold inner_b and inner_a"),
        new("mapinmap/inner_a", "mapinmap", "inner_a", MapType.Array, true, "inner map with BTF, filled through outer_array[0]"),
        new("mapinmap/inner_b", "mapinmap", "inner_b", MapType.Array, true, "inner map with BTF, filled through outer_hash[1]"),

        new("globals/.bss", "globals", "globals_bss", MapType.Array, true, "DATASEC .bss: string, u64, u32 array, struct, static variable, written by the program"),
        new("globals/.data", "globals", "globals_data", MapType.Array, true, "DATASEC .data: initialised int, string, u8 then u64 (a gap), struct"),
        new("globals/.rodata", "globals", "globals_rodata", MapType.Array, true, "DATASEC .rodata (frozen): const volatile u32, char array, negative int"),
        new("globals/.data.custom", "globals", "_data_custom", MapType.Array, true, "DATASEC of a custom section .data.custom"),

        new("floats/measurement", "floats", "measurement", MapType.Array, true, "float and double members: bpftool 7.1 stops at the float and prints invalid JSON"),
        new("floats/ratio", "floats", "ratio", MapType.Array, true, "a value that is a bare double"),
    ];

    /// <summary>The corpus objects, in build and load order.</summary>
    public static IReadOnlyList<string> Objects { get; } = All.Select(m => m.ObjectName).Distinct().ToList();

    /// <summary>Whether bpftool prints one value per CPU for this map.</summary>
    public bool IsPerCpu => Type is MapType.PerCpuHash or MapType.PerCpuArray or MapType.LruPerCpuHash;

    /// <summary>Whether bpftool 7.1 prints invalid JSON for this map (a FLOAT member or value).</summary>
    public bool Bpftool71PrintsInvalidJson => ObjectName == "floats";

    /// <summary>The map with this logical name.</summary>
    public static CorpusMap Get(string name)
        => All.FirstOrDefault(m => m.Name == name) ?? throw new ArgumentException($"no corpus map named '{name}'; known: {string.Join(", ", All.Select(m => m.Name))}", nameof(name));

    public override string ToString() => Name;
}
