using BpfMaps.Btf;
using BpfMaps.Tests.Corpus;
using static BpfMaps.Cli.Tests.Btf.BtfOutputs;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests.Btf;

/// <summary>
/// <c>bpfmap btf dump</c> against the real <c>bpftool btf dump</c>: plain text byte for byte, <c>-j</c> and
/// <c>-p</c> token for token, over vmlinux (every kind the kernel has, ENUM64 included), the corpus's BTF
/// objects as the kernel holds them (every kind clang 14 emits), the corpus's ELF objects, and every corpus map
/// with each of <c>key</c>, <c>value</c>, <c>kv</c>, <c>all</c>.
/// </summary>
public class BtfDumpParityTests(BtfCorpus corpus)
{
    private const string Vmlinux = "/sys/kernel/btf/vmlinux";

    public static TheoryData<string> Objects() => [.. CorpusMap.Objects];

    public static TheoryData<string> MapsWithBtf() => [.. CorpusMap.All.Where(m => m.HasBtf).Select(m => m.Name)];

    public static TheoryData<string> MapsWithoutBtf() => [.. CorpusMap.All.Where(m => !m.HasBtf).Select(m => m.Name)];

    private static void RequireVmlinux()
    {
        Kernel.Require();
        if (!File.Exists(Vmlinux))
        {
            Assert.Skip($"{Vmlinux} is missing: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF)");
        }
    }

    [Fact]
    public void Vmlinux_plain_is_byte_for_byte_bpftools()
    {
        RequireVmlinux();
        AssertSameBytes(Tool("btf", "dump", "file", Vmlinux), Ours("btf", "dump", "file", Vmlinux));
    }

    [Fact]
    public void Vmlinux_json_is_bpftools_with_unsigned_enum_values_unsigned()
    {
        RequireVmlinux();
        int fixes = AssertSameJson(Tool("-j", "btf", "dump", "file", Vmlinux), Ours("-j", "btf", "dump", "file", Vmlinux), FixSignExtendedEnum);

        // Where 7.1 prints a value above 2^32 for a 32-bit unsigned enumerator, bpfmap prints the enumerator's value.
        Assert.True(fixes == 0 || Bpftool71(), $"bpftool {BpfMaps.Tests.Corpus.Bpftool.Version} sign-extended {fixes} enum values; only 7.1 is known to");
    }

    [Fact]
    public void Vmlinux_pretty_json_has_bpftools_layout()
    {
        RequireVmlinux();

        // -p: bpftool's json_writer layout byte for byte, apart from the values 7.1 sign-extends.
        ByteOutput tool = Tool("-p", "btf", "dump", "file", Vmlinux);
        ByteOutput ours = Ours("-p", "btf", "dump", "file", Vmlinux);
        AssertSameJson(tool, ours, FixSignExtendedEnum);
        string[] toolLines = System.Text.Encoding.UTF8.GetString(tool.Stdout).Split('\n');
        string[] ourLines = System.Text.Encoding.UTF8.GetString(ours.Stdout).Split('\n');
        Assert.Equal(toolLines.Length, ourLines.Length);
        foreach ((string t, string o) in toolLines.Zip(ourLines).Where(p => p.First != p.Second))
        {
            // Only the values 7.1 sign-extends differ: "val": 18446744073441116159 against "val": 4026531839.
            const string Val = "\"val\": ";
            Assert.True(t.Contains(Val, StringComparison.Ordinal) && o.Contains(Val, StringComparison.Ordinal), $"bpftool: {t}\nbpfmap:  {o}");
            ulong toolValue = ulong.Parse(t[(t.IndexOf(Val, StringComparison.Ordinal) + Val.Length)..]);
            Assert.Equal($"{t[..t.IndexOf(Val, StringComparison.Ordinal)]}{Val}{(uint)toolValue}", o);
            Assert.True(toolValue > uint.MaxValue, t);
        }
    }

    [Fact]
    public void Vmlinux_by_kernel_id_is_the_file()
    {
        RequireVmlinux();
        BtfObjectInfo vmlinux = BtfSpec.GetSystemBtfIds().Select(BtfSpec.GetInfo).First(i => i.IsKernel && i.Name == "vmlinux");
        AssertSameBytes(Ours("btf", "dump", "file", Vmlinux), Ours("btf", "dump", "id", $"{vmlinux.Id}"));
    }

    [Fact]
    public void Every_kind_is_compared_somewhere()
    {
        RequireVmlinux();
        corpus.Require();
        var kinds = new HashSet<BtfKind>();
        foreach (BtfType t in BtfSpec.LoadVmlinux().Types())
        {
            kinds.Add(t.Kind);
        }

        foreach (string obj in CorpusMap.Objects)
        {
            foreach (BtfType t in BtfSpec.LoadFile(BtfCorpus.ObjectFile(obj)).Types())
            {
                kinds.Add(t.Kind);
            }
        }

        Assert.Equal(Enum.GetValues<BtfKind>().Where(k => k != BtfKind.Void).Order(), kinds.Order());
    }

    [Theory]
    [MemberData(nameof(Objects))]
    public void Corpus_btf_by_id_matches(string obj)
    {
        uint id = corpus.BtfId(CorpusMap.All.First(m => m.ObjectName == obj && m.HasBtf).Name);
        AssertSameBytes(Tool("btf", "dump", "id", $"{id}"), Ours("btf", "dump", "id", $"{id}"));
        AssertSameJson(Tool("-j", "btf", "dump", "id", $"{id}"), Ours("-j", "btf", "dump", "id", $"{id}"), FixSignExtendedEnum);
        AssertSameJson(Tool("-p", "btf", "dump", "id", $"{id}"), Ours("-p", "btf", "dump", "id", $"{id}"), FixSignExtendedEnum);
    }

    [Theory]
    [MemberData(nameof(Objects))]
    public void Corpus_elf_object_matches(string obj)
    {
        corpus.Require();
        string file = BtfCorpus.ObjectFile(obj);
        AssertSameBytes(Tool("btf", "dump", "file", file), Ours("btf", "dump", "file", file));
        AssertSameJson(Tool("-j", "btf", "dump", "file", file), Ours("-j", "btf", "dump", "file", file), FixSignExtendedEnum);
    }

    [Theory]
    [MemberData(nameof(MapsWithBtf))]
    public void Corpus_map_matches_for_every_part(string name)
    {
        string pin = corpus[name];
        foreach (string[] part in (string[][])[[], ["key"], ["value"], ["kv"], ["all"]])
        {
            AssertSameBytes(Tool(["btf", "dump", "map", "pinned", pin, .. part]), Ours(["btf", "dump", "map", "pinned", pin, .. part]));
            AssertSameJson(Tool(["-j", "btf", "dump", "map", "pinned", pin, .. part]), Ours(["-j", "btf", "dump", "map", "pinned", pin, .. part]), FixSignExtendedEnum);
        }

        // kv is the default; a DATASEC map's key is void, which bpftool prints as [0] UNKNOWN.
        AssertSameBytes(Ours("btf", "dump", "map", "pinned", pin), Ours("btf", "dump", "map", "pinned", pin, "kv"));
    }

    [Fact]
    public void A_datasec_maps_void_key_prints_as_bpftools_unknown()
    {
        string text = System.Text.Encoding.UTF8.GetString(Ours("btf", "dump", "map", "pinned", corpus["globals/.bss"], "key").AssertSuccess().Stdout);
        Assert.Equal("[0] UNKNOWN '(anon)'\n", text);
    }

    [Fact]
    public void A_struct_ops_maps_value_type_comes_from_vmlinux()
    {
        RequireVmlinux();
        if (!BtfSpec.LoadVmlinux().TryFindType("bpf_struct_ops_tcp_congestion_ops", BtfKind.Struct, out BtfType value))
        {
            Assert.Skip("this kernel has no tcp_congestion_ops struct_ops type");
        }

        var b = new BtfBuilder();
        b.AddInt("int", 4, isSigned: true);
        using BtfObject btf = BtfObject.Load(b.Build());
        using BpfMap map = BpfMap.Create(new MapSpec
        {
            Type = MapType.StructOps, KeySize = 4, ValueSize = (int)value.Size, MaxEntries = 1, Name = "btf_sops",
            Btf = btf, BtfVmlinuxValueTypeId = value.Id,
        });
        string id = $"{map.Id}";

        // The key (id 0) and the map's own BTF (all) print as bpftool prints them.
        AssertSameBytes(Tool("btf", "dump", "map", "id", id, "key"), Ours("btf", "dump", "map", "id", id, "key"));
        AssertSameBytes(Tool("btf", "dump", "map", "id", id, "all"), Ours("btf", "dump", "map", "id", id, "all"));

        // The value is vmlinux's type, under its vmlinux id, as the vmlinux dump prints it; 7.1 prints the
        // map's btf_value_type_id, 0, as [0] UNKNOWN.
        string ours = System.Text.Encoding.UTF8.GetString(Ours("btf", "dump", "map", "id", id, "value").AssertSuccess().Stdout);
        string vmlinux = System.Text.Encoding.UTF8.GetString(Ours("btf", "dump", "file", Vmlinux).AssertSuccess().Stdout);
        Assert.StartsWith($"[{value.Id}] STRUCT 'bpf_struct_ops_tcp_congestion_ops' size={value.Size} ", ours);
        Assert.Contains("\n" + ours, vmlinux);
        if (Bpftool71())
        {
            Assert.Equal("[0] UNKNOWN '(anon)'\n", System.Text.Encoding.UTF8.GetString(Tool("btf", "dump", "map", "id", id, "value").AssertSuccess().Stdout));
        }
    }

    [Theory]
    [MemberData(nameof(MapsWithoutBtf))]
    public void A_corpus_map_without_btf_fails_in_both(string name)
    {
        string pin = corpus[name];
        Assert.NotEqual(0, Tool("btf", "dump", "map", "pinned", pin).Exit);
        Cli.Fails(ExitCode.NoBtf, "has no BTF", "btf", "dump", "map", "pinned", pin);
    }

    [Fact]
    public void Module_btf_files_are_split_on_vmlinux()
    {
        RequireVmlinux();
        string? module = Directory.GetFiles("/sys/kernel/btf").FirstOrDefault(f => f != Vmlinux);
        if (module is null)
        {
            Assert.Skip("no kernel module has BTF in /sys/kernel/btf on this machine");
        }

        AssertSameBytes(Tool("btf", "dump", "file", module), Ours("btf", "dump", "file", module));
        AssertSameJson(Tool("-j", "btf", "dump", "file", module), Ours("-j", "btf", "dump", "file", module), FixSignExtendedEnum);
    }

    private static bool Bpftool71() => BpfMaps.Tests.Corpus.Bpftool.Is71;
}
