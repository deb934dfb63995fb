using BpfMaps.Btf;

namespace BpfMaps.Cli.Tests.Btf;

/// <summary>Shell completion of the <c>btf</c> words, through System.CommandLine's <c>[suggest]</c> directive.</summary>
public class BtfCompletionTests
{
    private static string[] Suggest(string line)
        => Cli.Run($"[suggest:{line.Length}]", line).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(s => !s.StartsWith('-') && !s.StartsWith('/') && s != "-?").ToArray();

    [Fact]
    public void Subcommands_sources_ids_parts_and_formats_complete()
    {
        Kernel.Require();
        Assert.Contains("btf", Suggest("bpfmap bt"));
        Assert.Superset(new HashSet<string> { "show", "list", "dump" }, Suggest("bpfmap btf ").ToHashSet());
        Assert.Equal(["id"], Suggest("bpfmap btf show "));
        Assert.Equal(["file", "id", "map"], Suggest("bpfmap btf dump ").Order());
        string vmlinux = BtfSpec.GetSystemBtfIds().First().ToString();
        Assert.Contains(vmlinux, Suggest("bpfmap btf dump id "));
        Assert.Contains(vmlinux, Suggest("bpfmap btf show id "));
        Assert.Equal(["format"], Suggest($"bpfmap btf dump id {vmlinux} "));
        Assert.Equal(["raw"], Suggest($"bpfmap btf dump id {vmlinux} format "));

        using BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "btf_complete" });
        Assert.Equal(["id", "name", "pinned"], Suggest("bpfmap btf dump map ").Order());
        Assert.Contains(map.Id.ToString(), Suggest("bpfmap btf dump map id "));
        Assert.Equal(["all", "format", "key", "kv", "value"], Suggest($"bpfmap btf dump map id {map.Id} ").Order());
        Assert.Equal(["format"], Suggest($"bpfmap btf dump map id {map.Id} kv "));
    }
}
