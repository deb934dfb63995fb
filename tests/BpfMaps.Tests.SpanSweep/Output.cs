namespace BpfMaps.Tests.SpanSweep;

/// <summary>
/// One tab-separated line per record on stdout, flushed at once: the test reads the line of a call
/// before the call is made, so a crash in it still names it.
/// </summary>
internal sealed class Output
{
    private readonly TextWriter _out = Console.Out;

    public void Line(string kind, params string[] fields)
    {
        _out.Write(kind);
        foreach (string f in fields)
        {
            _out.Write('\t');
            _out.Write(Clean(f));
        }

        _out.Write('\n');
        _out.Flush();
    }

    private static string Clean(string s)
    {
        string one = s.ReplaceLineEndings(" ").Replace('\t', ' ').Replace("\0", "\\0", StringComparison.Ordinal);
        return one.Length > 400 ? one[..400] + "..." : one;
    }
}
