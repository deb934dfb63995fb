using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

public sealed class ProbeOutputTests
{
    [Fact]
    public async Task Print()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        map.Update(BitConverter.GetBytes(7u), BitConverter.GetBytes(42ul));
        var options = new ExporterOptions { Maps = [new MapOptions { Map = $"id {map.Id}", Name = "m", Key = "u32", Metrics = [new MetricOptions { Name = "x_count", Help = "help me", Kind = "counter" }] }] };
        await using var e = await RunningExporter.StartAsync(options);
        Scrape s = await e.AfterReadsAsync("m");
        TestContext.Current.TestOutputHelper!.WriteLine(s.Text);
        TestContext.Current.TestOutputHelper!.WriteLine(e.LogText);
    }
}
