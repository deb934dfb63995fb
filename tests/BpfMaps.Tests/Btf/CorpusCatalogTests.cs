using System.Text.Json.Nodes;
using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>The catalog stays true to the corpus: every row names a real map, a member that map's BTF has, and a kind that is there (or, for a gap, absent).</summary>
public class CorpusCatalogTests(BtfCorpus corpus)
{
    public static TheoryData<int> Rows() => [.. Enumerable.Range(0, CorpusCatalog.Cases.Count)];

    [Theory]
    [MemberData(nameof(Rows))]
    public void Row_points_at_what_covers_it(int row)
    {
        CorpusCase c = CorpusCatalog.Cases[row];
        CorpusMap map = CorpusMap.Get(c.Map);
        Assert.True(File.Exists(corpus[c.Map]), $"{c}: {c.Map} is not pinned");
        if (c.Member is null && c.Kind is null)
        {
            return;
        }

        Assert.True(map.HasBtf, $"{c}: {c.Map} has no BTF to hold {c.Member ?? c.Kind}");
        JsonArray types = corpus.BtfTypes(c.Map);
        if (c.Member is { } member)
        {
            // A struct or union member, or the name of a type, variable or function.
            IEnumerable<string?> names = types.SelectMany(t => (t!["members"]?.AsArray().Select(m => m!["name"]?.GetValue<string>()) ?? [])
                .Append(t["name"]?.GetValue<string>()));
            Assert.True(names.Contains(member), $"{c}: no member or type named {member} in the BTF of {c.Map}");
        }

        if (c.Kind is { } kind)
        {
            bool present = types.Any(t => t!["kind"]!.GetValue<string>() == kind);
            Assert.True(present == (c.Gap is null), c.Gap is null ? $"{c}: no {kind} in the BTF of {c.Map}" : $"{c}: {kind} is now present; the gap ({c.Gap}) is closed, update the catalog");
        }
    }

    [Fact]
    public void Every_map_is_in_the_catalog()
    {
        Assert.Empty(CorpusMap.All.Select(m => m.Name).Except(CorpusCatalog.Cases.Select(c => c.Map)));
    }

    [Fact]
    public void Only_enum64_is_a_gap()
    {
        Assert.Equal(["ENUM64"], CorpusCatalog.Cases.Where(c => c.Gap is not null).Select(c => c.Kind));
    }
}
