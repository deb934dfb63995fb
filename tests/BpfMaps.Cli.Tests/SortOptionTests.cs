namespace BpfMaps.Cli.Tests;

/// <summary>--sort's column names, checked before any map is opened.</summary>
public class SortOptionTests
{
    [Theory]
    [InlineData("bytes")]
    [InlineData("cpu")]
    [InlineData("cpux")]
    [InlineData("values")]
    [InlineData("Value")]
    public void A_bad_sort_column_is_a_usage_error_before_the_map_is_opened(string column)
    {
        RunResult r = Cli.Run("--sort", column, "dump", "id", "999999999");
        Assert.Equal((int)Errors.ExitCode.Usage, r.Exit);
        Assert.Contains("--sort takes key, value, or a BTF field", r.Stderr);
    }
}
