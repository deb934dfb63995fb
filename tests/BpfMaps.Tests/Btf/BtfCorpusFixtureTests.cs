using BpfMaps.Tests.Corpus;

namespace BpfMaps.Tests.Btf;

/// <summary>The fixture itself: objects are compiled once, and disposal leaves nothing pinned or loaded.</summary>
public class BtfCorpusFixtureTests(BtfCorpus corpus)
{
    [Fact]
    public void Objects_are_not_recompiled_while_their_stamp_holds()
    {
        corpus.Require();
        Assert.All(CorpusCompiler.CompileAll(BtfCorpus.ObjectDirectory), o => Assert.False(o.Rebuilt, $"{o.Object} was rebuilt"));

        File.WriteAllText(BtfCorpus.ObjectFile("floats") + ".stamp", "stale");
        var again = CorpusCompiler.CompileAll(BtfCorpus.ObjectDirectory);
        Assert.Equal(["floats"], again.Where(o => o.Rebuilt).Select(o => o.Object));
    }

    [Fact]
    public void Dispose_removes_the_pins_and_the_kernel_frees_the_maps()
    {
        corpus.Require();
        var other = new BtfCorpus();
        uint id;
        try
        {
            string path = other["flows/flows"];
            Assert.StartsWith(other.Root + "/", path);
            Assert.NotEqual(corpus.Root, other.Root);
            id = Bpftool.MapInfo(path)["id"]!.GetValue<uint>();
        }
        finally
        {
            other.Dispose();
        }

        Assert.False(Directory.Exists(other.Root));

        // The kernel frees a map once its last reference goes, after an RCU grace period.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Bpftool.Run("map", "show", "id", id.ToString()).Succeeded)
        {
            Assert.True(DateTime.UtcNow < deadline, $"map {id} still exists 10 s after its pins were removed");
            Thread.Sleep(50);
        }

        Assert.Throws<ObjectDisposedException>(other.Require);
    }
}
