using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

public class MapSelectorTests
{
    [Theory]
    [InlineData("id 12", MapSelectorKind.Id, "12")]
    [InlineData("  pinned /sys/fs/bpf/x ", MapSelectorKind.Pinned, "/sys/fs/bpf/x")]
    [InlineData("name counts", MapSelectorKind.Name, "counts")]
    public void Parses_the_three_forms(string text, MapSelectorKind kind, string value)
    {
        Assert.True(MapSelector.TryParse(text, out MapSelector? s, out MapSelectorError error));
        Assert.Equal(MapSelectorError.None, error);
        Assert.Equal((kind, value), (s.Kind, s.Value));
        Assert.Equal(kind == MapSelectorKind.Id ? 12u : 0u, s.Id);
        Assert.Equal(text.Trim(), s.ToString());
        Assert.Equal(s, MapSelector.Parse(text));
    }

    [Theory]
    [InlineData("", MapSelectorError.Empty)]
    [InlineData("idx 3", MapSelectorError.UnknownKind)]
    [InlineData("id", MapSelectorError.MissingValue)]
    [InlineData("pinned", MapSelectorError.MissingValue)]
    [InlineData("id abc", MapSelectorError.BadId)]
    [InlineData("id 0", MapSelectorError.BadId)]
    [InlineData("id -3", MapSelectorError.BadId)]
    [InlineData("id 4294967296", MapSelectorError.BadId)]
    [InlineData("name a_name_that_is_too_long", MapSelectorError.NameTooLong)]
    [InlineData("pinned /sys/fs/bpf/a\0b", MapSelectorError.ContainsNul)]
    public void Refuses_what_is_not_a_selector(string text, MapSelectorError expected)
    {
        Assert.False(MapSelector.TryParse(text, out MapSelector? s, out MapSelectorError error));
        Assert.Null(s);
        Assert.Equal(expected, error);
        var e = Assert.Throws<FormatException>(() => MapSelector.Parse(text));
        Assert.Contains(MapSelector.Describe(expected), e.Message);
    }

    [Fact]
    public void Opens_by_id_pin_and_name()
    {
        using BpfMap a = Hash(name: "sel_twice");
        using BpfMap b = Hash(name: "sel_twice");
        using (BpfMap byId = MapSelector.ById(a.Id).OpenOne())
        {
            Assert.Equal(a.Id, byId.Id);
        }

        string dir = Path.Combine("/sys/fs/bpf", $"sel_{Environment.ProcessId}_{Guid.NewGuid():N}"[..24]);
        a.Pin(dir);
        try
        {
            using BpfMap pinned = MapSelector.ByPin(dir).OpenOne();
            Assert.Equal(a.Id, pinned.Id);
        }
        finally
        {
            File.Delete(dir);
        }

        // A name is not unique: OpenAll gives every match by ascending id, OpenOne refuses, OpenNewest takes the last.
        List<BpfMap> all = MapSelector.ByName("sel_twice").OpenAll();
        try
        {
            Assert.Equal([Math.Min(a.Id, b.Id), Math.Max(a.Id, b.Id)], all.Select(m => m.Id));
        }
        finally
        {
            all.ForEach(m => m.Dispose());
        }

        var ambiguous = Assert.Throws<AmbiguousMapSelectorException>(() => MapSelector.ByName("sel_twice").OpenOne());
        Assert.Equal(2, ambiguous.Ids.Count);
        Assert.StartsWith("name 'sel_twice' matches 2 maps (ids ", ambiguous.Message);
        using BpfMap newest = MapSelector.ByName("sel_twice").OpenNewest();
        Assert.Equal(Math.Max(a.Id, b.Id), newest.Id);
    }

    [Fact]
    public void Says_what_matched_nothing()
    {
        Require();
        var id = Assert.Throws<MapNotFoundException>(() => MapSelector.ById(uint.MaxValue - 7).OpenOne());
        Assert.Equal($"no map with id {uint.MaxValue - 7}", id.Message);
        Assert.Equal(Errno.ENOENT, id.Errno);
        Assert.Equal(BpfCommand.BPF_MAP_GET_FD_BY_ID, id.FailedCommand);
        var pin = Assert.Throws<MapNotFoundException>(() => MapSelector.ByPin("/sys/fs/bpf/no_such_pin_here").OpenAll());
        Assert.Equal("nothing is pinned at /sys/fs/bpf/no_such_pin_here", pin.Message);
        var name = Assert.Throws<MapNotFoundException>(() => MapSelector.ByName("no_such_map_x").OpenOne());
        Assert.Equal("no map named 'no_such_map_x'", name.Message);
        Assert.IsAssignableFrom<BpfException>(name);
    }
}
