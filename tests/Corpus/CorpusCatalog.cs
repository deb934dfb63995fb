namespace BpfMaps.Tests.Corpus;

/// <summary>
/// Which corpus map and member covers each case the BTF formatter must handle, and which cases the
/// toolchain cannot produce. The corpus tests check every row against the loaded corpus: the map
/// exists, the member is in that map's BTF, and the BTF kind is there (or, for a gap, still absent).
/// </summary>
public static class CorpusCatalog
{
    /// <summary>Every case, grouped by topic.</summary>
    public static IReadOnlyList<CorpusCase> Cases { get; } =
    [
        // BTF kinds. Kind names are bpftool's (bpftool -j btf dump).
        new("kind", "INT signed, 1/2/4/8 bytes", "scalars/int_limits", "s8_min", "INT") { Notes = "also s16_min, s32_min, s64_min: -128, -32768, -2147483648, -9223372036854775808" },
        new("kind", "INT unsigned, 1/2/4/8 bytes", "scalars/int_limits", "u64_max", "INT") { Notes = "also u8_max, u16_max, u32_max; u64_max prints 18446744073709551615" },
        new("kind", "INT _Bool (BOOL encoding)", "scalars/int_limits", "bool_true", "INT") { Notes = "true/false; also flows/flows seen" },
        new("kind", "INT char (clang: SIGNED, named \"char\")", "scalars/int_limits", "char_a", "INT") { Notes = "a lone char prints as a number (65), not \"A\": clang never sets the CHAR encoding" },
        new("kind", "INT signed char / unsigned char", "scalars/int_limits", "schar_neg", "INT") { Notes = "-1; uchar_200 prints 200" },
        new("kind", "INT unsigned __int128", "scalars/int_limits", "u128_big", "INT") { Notes = "bpftool prints 128-bit ints as hex, quoted in JSON: \"0x123456789abcdeffedcba9876543210\"" },
        new("kind", "INT __int128", "scalars/int_limits", "s128_neg", "INT") { Notes = "-1 prints \"0xffffffffffffffffffffffffffffffff\"; s128_small 42 prints \"0x2a\"" },
        new("kind", "PTR to void, struct, const char", "layouts/pointers", "void_ptr", "PTR") { Notes = "JSON: decimal number; plain: %p, so 0x1000 and (nil) for 0 (null_void)" },
        new("kind", "PTR to FUNC_PROTO", "layouts/pointers", "func_ptr", "FUNC_PROTO"),
        new("kind", "ARRAY of char printed as a string", "arrays/char_arrays", "word", "ARRAY"),
        new("kind", "ARRAY of int", "arrays/number_arrays", "ints", "ARRAY"),
        new("kind", "ARRAY of ARRAY (2-D)", "arrays/number_arrays", "grid", "ARRAY") { Notes = "[[0,1,2],[10,11,12]]; words is char[3][6]: [\"one\",\"two\",\"\"]" },
        new("kind", "ARRAY of STRUCT", "arrays/number_arrays", "points", "ARRAY"),
        new("kind", "ARRAY with 0 elements (flexible array member)", "arrays/number_arrays", "flex", "ARRAY") { Notes = "prints []" },
        new("kind", "STRUCT", "flows/flows", "comm", "STRUCT"),
        new("kind", "UNION (named, as a member and as a whole value)", "layouts/words", "halves", "UNION") { Notes = "every member is printed over the same bytes; also layouts/anon named" },
        new("kind", "ENUM value matching an enumerator", "scalars/enum_values", "color_named", "ENUM") { Notes = "\"COLOR_BLUE\"" },
        new("kind", "ENUM value matching none", "scalars/enum_values", "color_unnamed", "ENUM") { Notes = "7; color_high (0x80000001) prints -2147483647: bpftool reads enums as signed" },
        new("kind", "ENUM with a negative enumerator", "scalars/enum_values", "result_named", "ENUM") { Notes = "\"RESULT_ENOENT\"; result_unnamed -5 prints -5" },
        new("kind", "ENUM of 1 byte (packed)", "scalars/enum_values", "level_named", "ENUM") { Notes = "LEVEL_HIGH (200) prints -56: bpftool sign-extends the byte, so no match" },
        new("kind", "ENUM of 8 bytes", "scalars/enum_values", "wide_big", "ENUM") { Notes = "clang 14 truncates enumerators to 32 bits: WIDE_BIG (0x100000005) prints 4294967301, and the value 5 (wide_five) prints \"WIDE_BIG\"" },
        new("kind", "ENUM64", "scalars/enum_values", "wide_big", "ENUM64")
        {
            Gap = "clang 14 cannot emit ENUM64 (LLVM 15 added it): an enum with an enumerator above 32 bits becomes an 8-byte ENUM with truncated values",
        },
        new("kind", "FWD (pointer to a declared, undefined struct)", "layouts/pointers", "opaque_ptr", "FWD"),
        new("kind", "TYPEDEF, chained", "scalars/qualified", "tgid", "TYPEDEF") { Notes = "tgid_type -> pid_type -> __u32 -> unsigned int" },
        new("kind", "VOLATILE", "scalars/qualified", "volatile_u32", "VOLATILE"),
        new("kind", "CONST (also CONST over VOLATILE, and const char[] still a string)", "scalars/qualified", "const_u32", "CONST") { Notes = "cv_u64; const_chars prints \"const\"" },
        new("kind", "RESTRICT (restrict pointer)", "layouts/pointers", "restrict_ptr", "RESTRICT"),
        new("kind", "FLOAT (float member)", "floats/measurement", "ratio", "FLOAT") { Notes = "bpftool 7.1: \"ratio\": (unsupported-kind and nothing after" },
        new("kind", "FLOAT (double member)", "floats/measurement", "mean", "FLOAT") { Notes = "never printed by bpftool 7.1: it stops at ratio" },
        new("kind", "FLOAT (a value that is a bare double)", "floats/ratio", null, "FLOAT") { Notes = "bpftool 7.1: \"value\": (unsupported-kind" },
        new("kind", "FUNC and FUNC_PROTO (the fill programs)", "flows/flows", "fill_flows", "FUNC"),
        new("kind", "VAR and DATASEC (global variables)", "globals/.data", "answer", "DATASEC") { Notes = "formatted value is {\".data\": [{\"answer\": 42}, ...]}; no key is printed" },
        new("kind", "VAR with static linkage", "globals/.bss", "static_counter", "VAR"),
        new("kind", "DECL_TAG on a struct and on a member", "layouts/pointers", "after", "DECL_TAG") { Notes = "corpus:pointers (component_idx -1) and corpus:after-pointers (component_idx 8); invisible in map dumps" },
        new("kind", "TYPE_TAG on a pointer", "layouts/pointers", "user_ptr", "TYPE_TAG") { Notes = "PTR -> TYPE_TAG 'user' -> int; clang 14 emits it" },

        // Layout.
        new("layout", "bitfield of a few bits", "layouts/bits", "mode", null) { Notes = "bitfields print as hex strings in JSON (\"0x5\"), bare hex in plain (0x5)" },
        new("layout", "bitfield crossing a byte boundary", "layouts/bits", "across", null) { Notes = "\"0x2a\"; wide is 40 bits across five bytes: \"0x123456789a\"" },
        new("layout", "signed bitfield", "layouts/bits", "delta", null) { Notes = "-3 in 4 bits prints \"0xd\": no sign extension" },
        new("layout", "anonymous union member", "layouts/anon", "as_u32", null) { Notes = "printed under the name \"\"" },
        new("layout", "anonymous struct member", "layouts/anon", "lo", null) { Notes = "also named \"\": the object has the key \"\" twice" },
        new("layout", "holes between members", "layouts/holes", "b", null) { Notes = "hole bytes are 0xee in the raw value and absent from formatted; also flows/flows seen -> last_err" },
        new("layout", "padding at the end", "layouts/holes", "e", null) { Notes = "6 tail bytes; flows/flows key has 3" },

        // Strings.
        new("string", "backslash and double quote", "arrays/char_arrays", "escapes", null) { Notes = "say \"hi\" \\ bye; bpftool 7.1 writes the backslash as \\n (a newline to a JSON reader)" },
        new("string", "single quote", "arrays/char_arrays", "apostrophe", null) { Notes = "\"it's\", unescaped: valid JSON" },
        new("string", "control byte: numbers", "arrays/char_arrays", "control", null),
        new("string", "bytes above 0x7e: numbers, negative", "arrays/char_arrays", "high_bit", null) { Notes = "[99,97,102,-61,-87,0,0,0]" },
        new("string", "no NUL terminator: numbers", "arrays/char_arrays", "unterminated", null),
        new("string", "all zero", "arrays/char_arrays", "zeros", null) { Notes = "prints \"\" (an empty string), not numbers: the NUL comes first" },
        new("string", "NUL first, text after", "arrays/char_arrays", "nul_first", null) { Notes = "prints \"\"; after_nul prints \"ab\" though a control byte follows its NUL" },
        new("string", "unsigned char, signed char, __u8 arrays: numbers", "arrays/char_arrays", "uchars", null) { Notes = "only an element named \"char\" makes a string; typedefs are not looked through (mac)" },
        new("string", "a value that is a bare char[16]", "arrays/names", null, null),
        new("string", "a key that is a bare char[8]", "arrays/by_name", null, null),

        // The feature request's example.
        new("example", "flow_key / comm / counters / seen / last_err", "flows/flows", "last_err", null) { Notes = "\"comm\": \"bash\", \"seen\": true, \"last_err\": -2" },

        // Map types and keys.
        new("map", "HASH", "flows/flows", null, null),
        new("map", "ARRAY", "scalars/int_limits", null, null),
        new("map", "LRU_HASH", "flows/flows_lru", null, null),
        new("map", "PERCPU_HASH", "flows/flows_percpu", "packets", null) { Notes = "formatted has values: [{cpu, value}] for every possible CPU" },
        new("map", "PERCPU_ARRAY", "flows/slots_percpu", null, null),
        new("map", "ARRAY_OF_MAPS with BTF inner maps", "mapinmap/outer_array", null, null) { Notes = "the outer map has no BTF: bpftool prints hex only (inner map ids)" },
        new("map", "HASH_OF_MAPS with BTF inner maps", "mapinmap/outer_hash", null, null),
        new("map", "inner map with BTF, reached through the array of maps", "mapinmap/inner_a", "label", null),
        new("map", "inner map with BTF, reached through the hash of maps", "mapinmap/inner_b", "label", null),
        new("map", ".bss", "globals/.bss", "last_comm", "DATASEC"),
        new("map", ".data", "globals/.data", "default_config", "DATASEC"),
        new("map", ".rodata", "globals/.rodata", "version", "DATASEC"),
        new("map", "custom .data.custom", "globals/.data.custom", "custom_label", "DATASEC"),
        new("map", "1-byte key", "scalars/by_u8", null, null),
        new("map", "3-byte key (struct of three u8)", "scalars/by_rgb", "g", null),
    ];
}
