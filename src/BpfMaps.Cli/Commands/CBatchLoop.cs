using System.Diagnostics;
using System.Globalization;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// The floor <c>bench</c> compares with: <c>batch_loop.c</c> (embedded in this tool), a raw
/// BPF_MAP_LOOKUP_BATCH loop over a map given by id that reads every entry and writes nothing,
/// compiled with gcc -O2 into a temporary directory when bench starts.
/// </summary>
internal sealed class CBatchLoop : IDisposable
{
    private readonly string _dir;

    private CBatchLoop(string dir, string exe)
    {
        _dir = dir;
        Executable = exe;
    }

    /// <summary>The compiled program.</summary>
    public string Executable { get; }

    /// <summary>Compiles the loop, or says why it cannot.</summary>
    /// <param name="why">Why not, when it returns null.</param>
    /// <returns>The compiled loop, or null.</returns>
    public static CBatchLoop? TryCompile(out string? why)
    {
        string dir = Directory.CreateTempSubdirectory("bpfmap-bench-").FullName;
        string src = Path.Combine(dir, "batch_loop.c");
        string exe = Path.Combine(dir, "batch_loop");
        using (Stream s = typeof(CBatchLoop).Assembly.GetManifestResourceStream("BpfMaps.Cli.batch_loop.c") ?? throw new InvalidOperationException("batch_loop.c is not embedded"))
        using (FileStream f = File.Create(src))
        {
            s.CopyTo(f);
        }

        try
        {
            var psi = new ProcessStartInfo("gcc") { RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-O2", "-o", exe, src })
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode == 0)
            {
                why = null;
                return new CBatchLoop(dir, exe);
            }

            why = $"gcc failed: {err.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            why = "gcc not found (scripts/setup.sh installs it)";
        }

        Directory.Delete(dir, recursive: true);
        return null;
    }

    /// <summary>
    /// A start info that reads every entry of <paramref name="map"/> once, <paramref name="batch"/>
    /// entries per call. The program prints <c>entries nanoseconds checksum</c>, its own loop's time.
    /// </summary>
    /// <param name="map">The map (found again by id).</param>
    /// <param name="batch">Entries per BPF_MAP_LOOKUP_BATCH.</param>
    /// <param name="delete">BPF_MAP_LOOKUP_AND_DELETE_BATCH instead: the floor of a drain, which empties the map.</param>
    /// <returns>The start info.</returns>
    public ProcessStartInfo StartInfo(BpfMap map, int batch, bool delete = false)
    {
        var psi = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (long a in new long[] { map.Id, map.KeySize, map.ValueBufferSize, batch, 1, delete ? 1 : 0 })
        {
            psi.ArgumentList.Add(a.ToString(CultureInfo.InvariantCulture));
        }

        return psi;
    }

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
