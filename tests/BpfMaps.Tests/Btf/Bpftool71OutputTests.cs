using System.Text.Json;
using System.Text.Json.Nodes;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// What bpftool 7.1 prints for the corpus where its output is wrong or surprising, and how its
/// plain (BTF) mode lays values out: the reference a formatter that copies bpftool must meet, or
/// knowingly depart from. Skipped for other bpftool versions.
/// </summary>
public class Bpftool71OutputTests(BtfCorpus corpus)
{
    private string Require71(string name)
    {
        string path = corpus[name];
        if (!Bpftool.Is71)
        {
            Assert.Skip($"these are bpftool 7.1's quirks; this is bpftool {Bpftool.Version}");
        }

        return path;
    }

    [Fact]
    public void A_float_member_ends_the_struct_with_unsupported_kind_and_invalid_json()
    {
        ToolResult json = Bpftool.Dump(Require71("floats/measurement")).AssertSuccess();
        Assert.Contains("""
            "formatted":{"key":0,"value":{"before":1,"ratio":(unsupported-kind}}}]
            """, json.Stdout);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(json.Stdout));

        ToolResult plain = Bpftool.Dump(corpus["floats/measurement"], json: false).AssertSuccess();
        Assert.Contains("\"before\": 1,\n            \"ratio\": (unsupported-kind\n        }\n", plain.Stdout);
        Assert.DoesNotContain("mean", plain.Stdout);
        Assert.DoesNotContain("after", plain.Stdout);
    }

    [Fact]
    public void A_bare_double_value_prints_unsupported_kind()
    {
        ToolResult json = Bpftool.Dump(Require71("floats/ratio")).AssertSuccess();
        Assert.Contains("""
            "formatted":{"key":0,"value":(unsupported-kind}}]
            """, json.Stdout);
    }

    [Fact]
    public void A_backslash_in_a_string_is_written_as_backslash_n()
    {
        ToolResult json = Bpftool.Dump(Require71("arrays/char_arrays")).AssertSuccess();
        Assert.Contains("""
            "escapes":"say \"hi\" \n bye"
            """, json.Stdout);

        // So a JSON reader sees a newline where the map has a backslash.
        JsonNode value = Bpftool.Formatted(corpus["arrays/char_arrays"]).Single()["value"]!;
        Assert.Equal("say \"hi\" \n bye", value["escapes"]!.GetValue<string>());
    }

    [Fact]
    public void Enums_are_read_as_signed_and_compared_with_32_bit_enumerators()
    {
        JsonNode v = Bpftool.Formatted(Require71("scalars/enum_values")).Single()["value"]!;

        // 0x80000001 in an unsigned 4-byte enum: printed as a signed number.
        Assert.Equal(-2147483647, v["color_high"]!.GetValue<long>());
        // LEVEL_HIGH (200) in a 1-byte enum: the byte is sign-extended to -56, which matches nothing.
        Assert.Equal(-56, v["level_named"]!.GetValue<long>());
        // clang 14 cut WIDE_BIG (0x100000005) to 5 in BTF: the real value matches nothing, and 5 matches WIDE_BIG.
        Assert.Equal(4294967301, v["wide_big"]!.GetValue<long>());
        Assert.Equal("WIDE_BIG", v["wide_five"]!.GetValue<string>());
    }

    [Fact]
    public void Plain_mode_prints_bitfields_int128_and_pointers_as_bare_hex()
    {
        string bits = Bpftool.Dump(Require71("layouts/bits"), json: false).AssertSuccess().Stdout;
        Assert.Contains("\"flag\": 0x1,\n", bits);
        Assert.Contains("\"delta\": 0xd,\n", bits);

        string ints = Bpftool.Dump(corpus["scalars/int_limits"], json: false).AssertSuccess().Stdout;
        Assert.Contains("\"u128_big\": 0x123456789abcdeffedcba9876543210,\n", ints);
        Assert.Contains("\"s128_small\": 0x2a\n", ints);

        string pointers = Bpftool.Dump(corpus["layouts/pointers"], json: false).AssertSuccess().Stdout;
        Assert.Contains("\"null_void\": (nil),\n", pointers);
        Assert.Contains("\"node_ptr\": 0xffff888012345678,\n", pointers);
    }

    [Fact]
    public void Plain_mode_is_indented_json_with_arrays_on_one_line_and_the_bracket_on_the_next()
    {
        string plain = Bpftool.Dump(Require71("arrays/number_arrays"), json: false).AssertSuccess().Stdout;
        Assert.Equal("""
            [{
                    "key": 0,
                    "value": {
                        "ints": [1,-2,3,-4
                        ],
                        "shorts": [1,2,65535
                        ],
                        "grid": [[0,1,2
                            ],[10,11,12
                            ]
                        ],
                        "words": ["one","two",""
                        ],
                        "points": [{
                                "x": -1,
                                "y": 1
                            },{
                                "x": 300,
                                "y": -300
                            }
                        ],
                        "count": 2,
                        "flex": []
                    }
                }
            ]

            """, plain);
    }

    [Fact]
    public void Plain_mode_of_a_datasec_has_no_key()
    {
        string plain = Bpftool.Dump(Require71("globals/.rodata"), json: false).AssertSuccess().Stdout;
        Assert.Equal("""
            [{
                    "value": {
                        ".rodata": [{
                                "max_flows": 1024
                            },{
                                "version": "v1.2"
                            },{
                                "negative_limit": -100
                            }
                        ]
                    }
                }
            ]

            """, plain);
    }

    [Fact]
    public void Per_cpu_values_are_listed_under_values_with_the_cpu_number()
    {
        string plain = Bpftool.Dump(Require71("flows/slots_percpu"), json: false).AssertSuccess().Stdout;
        Assert.StartsWith("""
            [{
                    "key": 0,
                    "values": [{
                            "cpu": 0,
                            "value":
            """, plain);
    }

    [Fact]
    public void An_outer_map_without_btf_dumps_as_hex_lines()
    {
        string plain = Bpftool.Dump(Require71("mapinmap/outer_array"), json: false).AssertSuccess().Stdout;
        string[] lines = plain.Split('\n');
        Assert.Matches("^key: 00 00 00 00  value: [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}$", lines[0]);
        Assert.Matches("^key: 02 00 00 00  value: [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}$", lines[1]);
        Assert.Equal("Found 2 elements", lines[2]);
    }

    [Fact]
    public void Lookup_of_a_missing_key_fails_with_null_in_json_and_not_found_in_plain()
    {
        string path = Require71("scalars/by_u8");
        ToolResult json = Bpftool.Lookup(path, [9]);
        Assert.Equal(254, json.ExitCode);
        Assert.Equal("null", json.Stdout.Trim());

        ToolResult plain = Bpftool.Lookup(path, [9], json: false);
        Assert.Equal(254, plain.ExitCode);
        Assert.Equal("key:\n09\n\nNot found\n", plain.Stdout);
    }
}
