using Xunit;

namespace BpfMaps.Tests.Corpus;

/// <summary>What one run of an external tool (bpftool, clang, taskset) printed and returned.</summary>
/// <param name="Command">The command line, for messages.</param>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error.</param>
public sealed record ToolResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Fails the test unless the tool exited 0; returns this result for chaining.</summary>
    public ToolResult AssertSuccess()
    {
        Assert.True(Succeeded, Describe());
        return this;
    }

    /// <summary>The command line, exit code and both streams, for a failure message.</summary>
    public string Describe() => $"`{Command}` exited {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
