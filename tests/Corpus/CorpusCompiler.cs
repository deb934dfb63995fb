using System.Security.Cryptography;
using System.Text;

namespace BpfMaps.Tests.Corpus;

/// <summary>
/// Compiles the corpus sources (<c>tests/Corpus/btf/*.bpf.c</c>, copied next to the test assembly)
/// with clang-14 into BPF objects with BTF. An object is rebuilt only when its stamp changes: the
/// stamp hashes the source, the shared header, the command line and clang's version.
/// </summary>
public static class CorpusCompiler
{
    /// <summary>Where the test build copies the sources (see <c>BtfCorpus.props</c>).</summary>
    public static string SourceDirectory => Path.Combine(AppContext.BaseDirectory, "Corpus", "btf");

    /// <summary>The compiler the corpus is written for.</summary>
    public const string Clang = "clang-14";

    /// <summary>Why the corpus cannot be compiled here (a missing tool or header), or null when it can.</summary>
    public static string? WhyUnavailable()
    {
        if (ExternalTool.Which(Clang) is null)
        {
            return $"{Clang} is not installed (scripts/setup.sh installs it)";
        }

        if (!File.Exists("/usr/include/bpf/bpf_helpers.h"))
        {
            return "libbpf's BPF headers are not installed (/usr/include/bpf/bpf_helpers.h; scripts/setup.sh installs libbpf-dev)";
        }

        if (!File.Exists("/usr/include/linux/bpf.h"))
        {
            return "linux/bpf.h is not installed (scripts/setup.sh installs linux-libc-dev)";
        }

        if (!Directory.Exists(SourceDirectory))
        {
            return $"the corpus sources were not copied to {SourceDirectory} (the test project must import tests/Corpus/BtfCorpus.props)";
        }

        return null;
    }

    /// <summary>
    /// Compiles every object into <paramref name="outputDirectory"/>, skipping those whose stamp is
    /// unchanged. A compiler error throws with clang's message.
    /// </summary>
    /// <returns>Each object's path and whether it was rebuilt.</returns>
    public static IReadOnlyList<(string Object, string Path, bool Rebuilt)> CompileAll(string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        string clang = ExternalTool.Which(Clang) ?? throw new InvalidOperationException($"{Clang} is not installed");
        string clangVersion = ExternalTool.Run(clang, ["--version"]).Stdout;
        string multiarch = ExternalTool.Run(clang, ["-print-multiarch"]).Stdout.Trim();
        byte[] header = File.ReadAllBytes(Path.Combine(SourceDirectory, "corpus.h"));

        var results = new List<(string, string, bool)>();
        foreach (string obj in CorpusMap.Objects)
        {
            string source = Path.Combine(SourceDirectory, obj + ".bpf.c");
            string output = Path.Combine(outputDirectory, obj + ".bpf.o");
            string[] flags =
            [
                "-g", "-O2", "-target", "bpf", "-Wall", "-Werror",
                "-I", SourceDirectory,
                // linux/types.h includes asm/types.h, which Debian keeps under the multiarch directory.
                .. multiarch.Length > 0 ? new[] { "-I", $"/usr/include/{multiarch}" } : [],
            ];

            string stamp = Stamp(clangVersion, flags, header, File.ReadAllBytes(source));
            string stampFile = output + ".stamp";
            if (File.Exists(output) && File.Exists(stampFile) && File.ReadAllText(stampFile) == stamp)
            {
                results.Add((obj, output, false));
                continue;
            }

            // Another test process may be compiling the same object: each writes its own file, then renames.
            string temporary = $"{output}.{Environment.ProcessId}.tmp";
            ToolResult r = ExternalTool.Run(clang, [.. flags, "-c", source, "-o", temporary]);
            if (!r.Succeeded)
            {
                throw new InvalidOperationException($"compiling the BTF corpus object {obj} failed: {r.Describe()}");
            }

            File.Move(temporary, output, overwrite: true);
            File.WriteAllText(stampFile, stamp);
            results.Add((obj, output, true));
        }

        return results;
    }

    private static string Stamp(string clangVersion, string[] flags, byte[] header, byte[] source)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(clangVersion + "\0" + string.Join('\0', flags) + "\0"));
        hash.AppendData(header);
        hash.AppendData(source);
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
