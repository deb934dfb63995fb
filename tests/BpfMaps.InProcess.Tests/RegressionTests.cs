using BpfMaps.InProcess.Tests.Differential;

namespace BpfMaps.InProcess.Tests;

/// <summary>Minimal programs the differential suite once shrank to; each failed before its fix.</summary>
public class RegressionTests
{
    public static TheoryData<string, MapProgram> Programs => new()
    {
        { "placeholder: empty hash dump", new MapProgram(new MapConfig(MapType.Hash, 4, 8, 4, MapFlags.ZeroSeed), [new Op(OpKind.LookupBatch, 0, 0, 0, 4, -1, 0)]) },
    };

    [Theory]
    [MemberData(nameof(Programs))]
    public void MatchesTheKernel(string name, MapProgram program)
    {
        Assert.NotNull(name);
        Backends.RequireKernel();
        DiffRunner.Run(program);
    }
}
