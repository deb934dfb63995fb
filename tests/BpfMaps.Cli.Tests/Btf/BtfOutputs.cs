using System.Diagnostics;
using System.Text;
using System.Text.Json;
using BpfMaps.Tests.Corpus;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests.Btf;

/// <summary>What bpftool or bpfmap printed, as bytes.</summary>
public sealed record ByteOutput(string Command, int Exit, byte[] Stdout, string Stderr)
{
    public ByteOutput AssertSuccess()
    {
        Assert.True(Exit == 0, $"`{Command}` exited {Exit}: {Stderr}");
        return this;
    }
}

/// <summary>
/// Runs bpftool and bpfmap for the <c>btf</c> parity tests and compares what they print: plain text byte
/// for byte, JSON token by token (both streamed; a dump of vmlinux is 12 MB of text and 17 MB of JSON).
/// </summary>
public static class BtfOutputs
{
    /// <summary>bpftool ARGS, stdout as raw bytes.</summary>
    public static ByteOutput Tool(params string[] args)
    {
        var psi = new ProcessStartInfo(BpfMaps.Tests.Corpus.Bpftool.Exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        var stdout = new MemoryStream();
        Task copy = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(true);
            throw new TimeoutException($"bpftool {string.Join(' ', args)} did not finish");
        }

        copy.Wait();
        return new ByteOutput($"bpftool {string.Join(' ', args)}", p.ExitCode, stdout.ToArray(), stderr.Result);
    }

    /// <summary>bpfmap ARGS in this process, stdout as raw bytes.</summary>
    public static ByteOutput Ours(params string[] args)
    {
        var (exit, stdout, stderr) = Cli.RunBytes(args);
        return new ByteOutput($"bpfmap {string.Join(' ', args)}", exit, stdout, stderr);
    }

    /// <summary>Both tools must succeed and print the same bytes; a failure shows the first differing line of each.</summary>
    public static void AssertSameBytes(ByteOutput expected, ByteOutput actual)
    {
        expected.AssertSuccess();
        actual.AssertSuccess();
        ReadOnlySpan<byte> e = expected.Stdout, a = actual.Stdout;
        if (e.SequenceEqual(a))
        {
            return;
        }

        int at = e.CommonPrefixLength(a);
        Assert.Fail($"`{actual.Command}` differs from `{expected.Command}` at byte {at} (of {a.Length} and {e.Length}):\n"
            + $"bpftool: {LineAt(e, at)}\nbpfmap:  {LineAt(a, at)}");
    }

    /// <summary>
    /// Both must succeed and print the same JSON: the same tokens in the same order, strings compared
    /// unescaped and numbers by value. <paramref name="fixExpected"/> may replace a number of bpftool's
    /// (given its member name and the type's <c>kind</c> and <c>encoding</c> seen last) where bpftool 7.1 is wrong.
    /// </summary>
    /// <returns>How many of bpftool's numbers <paramref name="fixExpected"/> changed.</returns>
    public static int AssertSameJson(ByteOutput expected, ByteOutput actual, Func<JsonContext, decimal, decimal>? fixExpected = null)
    {
        expected.AssertSuccess();
        actual.AssertSuccess();
        var e = new Utf8JsonReader(expected.Stdout);
        var a = new Utf8JsonReader(actual.Stdout);
        var context = new JsonContext();
        int fixes = 0;
        string? property = null;
        while (true)
        {
            bool more = Read(ref e, expected);
            if (more != Read(ref a, actual))
            {
                Assert.Fail($"`{actual.Command}` ends {(more ? "early" : "late")} compared with `{expected.Command}` at byte {a.BytesConsumed}");
            }
            if (!more)
            {
                return fixes;
            }

            // Messages are built only on a mismatch: vmlinux has millions of tokens.
            if (e.TokenType != a.TokenType)
            {
                Assert.Fail($"token {a.TokenType}, bpftool has {e.TokenType} {Where(ref e, ref a, property, context)}");
            }

            switch (e.TokenType)
            {
                case JsonTokenType.PropertyName:
                    property = e.GetString();
                    if (property != a.GetString())
                    {
                        Assert.Fail($"member '{a.GetString()}', bpftool has '{property}' {Where(ref e, ref a, property, context)}");
                    }

                    break;
                case JsonTokenType.String:
                    string s = e.GetString()!;
                    if (s != a.GetString())
                    {
                        Assert.Fail($"string '{a.GetString()}', bpftool has '{s}' {Where(ref e, ref a, property, context)}");
                    }

                    if (property == "kind")
                    {
                        context.Kind = s;
                        context.Encoding = null;
                    }
                    else if (property == "encoding")
                    {
                        context.Encoding = s;
                    }

                    break;
                case JsonTokenType.Number:
                    decimal want = e.GetDecimal();
                    if (fixExpected is not null)
                    {
                        context.Property = property;
                        decimal fixedWant = fixExpected(context, want);
                        fixes += fixedWant != want ? 1 : 0;
                        want = fixedWant;
                    }

                    if (want != a.GetDecimal())
                    {
                        Assert.Fail($"number {a.GetDecimal()}, bpftool has {want} {Where(ref e, ref a, property, context)}");
                    }

                    break;
            }
        }
    }

    private static string Where(ref Utf8JsonReader e, ref Utf8JsonReader a, string? property, JsonContext context)
        => $"at byte {e.TokenStartIndex} of bpftool's and {a.TokenStartIndex} of bpfmap's output (member {property ?? "-"}, kind {context.Kind ?? "-"})";

    /// <summary>
    /// bpftool 7.1 passes an unsigned 32-bit ENUM value (a C int) to its 64-bit unsigned JSON writer, which
    /// sign-extends values above INT_MAX: 0xf0000000 comes out as 18446744073441116160. Returns the value
    /// bpftool means.
    /// </summary>
    public static decimal FixSignExtendedEnum(JsonContext c, decimal value)
        => c.Property == "val" && c.Kind == "ENUM" && c.Encoding == "UNSIGNED" && value > uint.MaxValue ? (uint)(ulong)value : value;

    private static bool Read(ref Utf8JsonReader r, ByteOutput from)
    {
        try
        {
            return r.Read();
        }
        catch (JsonException ex)
        {
            Assert.Fail($"`{from.Command}` printed invalid JSON: {ex.Message}");
            throw;
        }
    }

    private static string LineAt(ReadOnlySpan<byte> text, int offset)
    {
        offset = Math.Min(offset, text.Length);
        int start = text[..offset].LastIndexOf((byte)'\n') + 1;
        int end = text[offset..].IndexOf((byte)'\n');
        ReadOnlySpan<byte> line = end < 0 ? text[start..] : text[start..(offset + end)];
        return Encoding.UTF8.GetString(line).Replace("\t", "\\t");
    }
}

/// <summary>Where a JSON comparison is: the member being read, and the type's kind and encoding seen last.</summary>
public sealed class JsonContext
{
    public string? Property { get; set; }

    public string? Kind { get; set; }

    public string? Encoding { get; set; }
}
