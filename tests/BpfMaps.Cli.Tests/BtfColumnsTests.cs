using System.Text.Json;
using BpfMaps.Tests.Corpus;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>table, csv and ndjson for maps with BTF: a column per leaf field, per-field per-CPU reductions, sorting by field.</summary>
public sealed class BtfColumnsTests(BtfCorpus corpus)
{
    [Fact]
    public void Csv_has_a_column_per_field_with_strings_and_bools_as_text()
    {
        corpus.Require();
        RunResult r = Cli.Run("--format", "csv", "--sort", "key.saddr", "dump", "pinned", corpus["flows/flows"]);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(
            "key.saddr,key.daddr,key.sport,key.dport,key.proto,value.comm,value.packets,value.bytes,value.seen,value.last_err\n"
            + "167772161,167772162,12345,80,6,bash,3,180,true,-2\n"
            + "167772163,3758096635,5353,5353,17,avahi-daemon,1,18446744073709551615,false,0\n",
            r.Stdout);
    }

    [Fact]
    public void Ndjson_lines_are_flat_objects_keyed_by_column()
    {
        corpus.Require();
        RunResult r = Cli.Run("--format", "ndjson", "--sort", "value.packets", "dump", "pinned", corpus["flows/flows"]);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Equal(
            "{\"key.saddr\":167772161,\"key.daddr\":167772162,\"key.sport\":12345,\"key.dport\":80,\"key.proto\":6,\"value.comm\":\"bash\",\"value.packets\":3,\"value.bytes\":180,\"value.seen\":true,\"value.last_err\":-2}\n"
            + "{\"key.saddr\":167772163,\"key.daddr\":3758096635,\"key.sport\":5353,\"key.dport\":5353,\"key.proto\":17,\"value.comm\":\"avahi-daemon\",\"value.packets\":1,\"value.bytes\":18446744073709551615,\"value.seen\":false,\"value.last_err\":0}\n",
            r.Stdout);
    }

    [Fact]
    public void Sort_by_a_value_field_is_descending_and_top_keeps_the_first()
    {
        corpus.Require();
        RunResult r = Cli.Run("--format", "csv", "--sort", "value.bytes", "--top", "1", "dump", "pinned", corpus["flows/flows"]);
        Assert.True(r.Exit == 0, r.Stderr);
        const string Header = "key.saddr,key.daddr,key.sport,key.dport,key.proto,value.comm,value.packets,value.bytes,value.seen,value.last_err\n";
        const string Bash = "167772161,167772162,12345,80,6,bash,3,180,true,-2\n";
        const string Avahi = "167772163,3758096635,5353,5353,17,avahi-daemon,1,18446744073709551615,false,0\n";
        Assert.Equal(Header + Avahi, r.Stdout);

        RunResult byText = Cli.Run("--format", "csv", "--sort", "value.comm", "dump", "pinned", corpus["flows/flows"]);
        Assert.Equal(Header + Bash + Avahi, byText.Stdout);
    }

    [Fact]
    public void Per_cpu_fields_are_reduced_one_by_one()
    {
        corpus.Require();
        IReadOnlyList<int> cpus = corpus.FilledCpus;
        long packets = cpus.Sum(c => c + 1L);
        long bytes = cpus.Sum(c => (c + 1L) * 1000);
        RunResult sum = Cli.Run("--format", "csv", "--percpu", "sum", "dump", "pinned", corpus["flows/flows_percpu"]);
        Assert.True(sum.Exit == 0, sum.Stderr);
        Assert.Equal($"key.saddr,key.daddr,key.sport,key.dport,key.proto,value.packets,value.bytes\n167772161,167772162,12345,80,6,{packets},{bytes}\n", sum.Stdout);

        RunResult max = Cli.Run("--format", "csv", "--percpu", "max", "dump", "pinned", corpus["flows/flows_percpu"]);
        Assert.EndsWith($",{cpus.Max() + 1},{(cpus.Max() + 1) * 1000}\n", max.Stdout);

        RunResult avg = Cli.Run("--format", "ndjson", "--percpu", "avg", "dump", "pinned", corpus["flows/flows_percpu"]);
        using JsonDocument d = JsonDocument.Parse(avg.Stdout);
        Assert.Equal((double)packets / BtfCorpus.PossibleCpuCount, d.RootElement.GetProperty("value.packets").GetDouble(), 2);

        RunResult raw = Cli.Run("--format", "csv", "dump", "pinned", corpus["flows/flows_percpu"]);
        string header = raw.Stdout.Split('\n')[0];
        Assert.Contains("cpu0.packets,cpu0.bytes", header);
        Assert.EndsWith($"cpu{BtfCorpus.PossibleCpuCount - 1}.bytes", header);
    }

    [Fact]
    public void Table_shows_fields_not_bytes()
    {
        corpus.Require();
        RunResult r = Cli.Run("--format", "table", "dump", "pinned", corpus["flows/flows"]);
        Assert.True(r.Exit == 0, r.Stderr);
        Assert.Contains("avahi-daemon", r.Stdout);
        Assert.Contains("-2", r.Stdout);
        Assert.DoesNotContain("61 76 61 68", r.Stdout);
        Assert.Contains("2 entries", r.Stdout);
    }

    [Fact]
    public void Array_elements_and_data_section_variables_get_their_own_columns()
    {
        corpus.Require();
        RunResult arrays = Cli.Run("--format", "csv", "dump", "pinned", corpus["arrays/number_arrays"]);
        Assert.True(arrays.Exit == 0, arrays.Stderr);
        Assert.Matches(@"value\.[a-z_]+\[2\]", arrays.Stdout.Split('\n')[0]);

        RunResult rodata = Cli.Run("--format", "ndjson", "dump", "pinned", corpus["globals/.rodata"]);
        Assert.True(rodata.Exit == 0, rodata.Stderr);
        using JsonDocument d = JsonDocument.Parse(rodata.Stdout);
        Assert.Equal(1024, d.RootElement.GetProperty("value.max_flows").GetInt32());
        Assert.Equal(-100, d.RootElement.GetProperty("value.negative_limit").GetInt32());
    }

    [Fact]
    public void Fields_asked_of_a_map_without_btf_or_an_unknown_field_are_one_line()
    {
        corpus.Require();
        Cli.Fails(ExitCode.BadBtf, "has no BTF", "--format", "csv", "--sort", "value.bytes", "dump", "pinned", corpus["mapinmap/outer_array"]);
        Cli.Fails(ExitCode.BadBtf, "no field 'value.nope'", "--format", "csv", "--sort", "value.nope", "dump", "pinned", corpus["flows/flows"]);
        RunResult r = Cli.Fails(ExitCode.BadBtf, "value.comm", "--sort", "value.nope", "dump", "pinned", corpus["flows/flows"]);
        Assert.Empty(r.Stdout);
        Cli.Fails(ExitCode.BadBtf, "--raw", "--raw", "--format", "csv", "--sort", "value.bytes", "dump", "pinned", corpus["flows/flows"]);
    }
}
