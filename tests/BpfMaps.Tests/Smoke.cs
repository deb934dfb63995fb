namespace BpfMaps.Tests;

public class Smoke
{
    [Fact]
    public void Works() => Assert.Equal(2, PossibleCpus.Parse("0-1"));
}
