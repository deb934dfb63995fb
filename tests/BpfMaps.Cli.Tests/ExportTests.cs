using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary><c>bpfmap export</c>: the exporter behind the CLI, with bpfmap's exit codes.</summary>
public class ExportTests
{
    [Fact]
    public void A_bad_config_is_one_line_naming_the_field_and_exit_code_12()
    {
        string file = Path.Combine(Path.GetTempPath(), $"bpfmap-export-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{ "maps": [ { "map": "id 1", "bogus": 1 } ] }""");
        try
        {
            RunResult r = Cli.Run("export", "--config", file);
            Assert.Equal((int)ExitCode.BadConfig, r.Exit);
            Assert.Single(r.StderrLines);
            Assert.Contains("maps[0].bogus: unknown field", r.Stderr);

            RunResult listen = Cli.Run("export", "--config", file, "--listen", "nowhere");
            Assert.Equal((int)ExitCode.BadConfig, listen.Exit);

            // --config without a file: bpfmap's own parser says so (usage); the exporter run alone calls it a bad configuration.
            RunResult noFile = Cli.Run("export", "--config");
            Assert.Equal((int)ExitCode.Usage, noFile.Exit);
            Assert.Single(noFile.StderrLines);
            RunResult alone = Proc.Run(Path.Combine(AppContext.BaseDirectory, "bpfmap-exporter"), ["--config"]);
            Assert.Equal((int)ExitCode.BadConfig, alone.Exit);
            Assert.Single(alone.StderrLines);
            Assert.StartsWith("bpfmap export: ", alone.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Without_the_exporter_beside_bpfmap_export_fails_with_exit_code_13_naming_it()
    {
        string empty = Directory.CreateTempSubdirectory("bpfmap-no-exporter").FullName;
        try
        {
            var e = Assert.Throws<CliException>(() => BpfMaps.Cli.Commands.ExportCommand.Locate(empty));
            Assert.Equal(ExitCode.ExporterFailed, e.Code);
            Assert.Contains("no bpfmap-exporter beside bpfmap", e.Message);

            File.WriteAllText(Path.Combine(empty, "bpfmap-exporter.dll"), "");
            (string program, string[] prefix) = BpfMaps.Cli.Commands.ExportCommand.Locate(empty);
            Assert.Equal("dotnet", Path.GetFileName(program));
            Assert.Equal([Path.Combine(empty, "bpfmap-exporter.dll")], prefix);

            // Beside this build's bpfmap: its apphost, or its dll when this process is dotnet itself.
            (program, prefix) = BpfMaps.Cli.Commands.ExportCommand.Locate(AppContext.BaseDirectory);
            if (Path.GetFileName(Environment.ProcessPath) == "dotnet")
            {
                Assert.Equal(Environment.ProcessPath, program);
                Assert.Equal([Path.Combine(AppContext.BaseDirectory, "bpfmap-exporter.dll")], prefix);
            }
            else
            {
                Assert.Equal(Path.Combine(AppContext.BaseDirectory, "bpfmap-exporter"), program);
                Assert.Empty(prefix);
            }
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void An_exporter_that_is_missing_or_cannot_run_is_one_line_and_exit_code_13()
    {
        // A copy of bpfmap's build output without bpfmap-exporter beside it, run as a user runs it.
        string dir = Directory.CreateTempSubdirectory("bpfmap-export-missing").FullName;
        try
        {
            foreach (string f in Directory.EnumerateFiles(AppContext.BaseDirectory))
            {
                if (!Path.GetFileName(f).StartsWith("bpfmap-exporter", StringComparison.Ordinal))
                {
                    File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
                }
            }

            string bpfmap = Path.Combine(dir, "bpfmap.dll");
            RunResult missing = Proc.Run("dotnet", [bpfmap, "export", "--config", "/nonexistent.json"]);
            Assert.Equal((int)ExitCode.ExporterFailed, missing.Exit);
            Assert.Equal($"bpfmap: the exporter is not installed: no bpfmap-exporter beside bpfmap in {dir}/", missing.Stderr.TrimEnd());

            // Present but not executable: execv fails, and says why.
            File.WriteAllText(Path.Combine(dir, "bpfmap-exporter"), "not a program");
            RunResult denied = Proc.Run("dotnet", [bpfmap, "export", "--config", "/nonexistent.json"]);
            Assert.Equal((int)ExitCode.ExporterFailed, denied.Exit);
            Assert.Single(denied.StderrLines);
            Assert.StartsWith($"bpfmap: cannot run {dir}/bpfmap-exporter: ", denied.Stderr);
            Assert.DoesNotContain("   at ", denied.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public async Task Export_serves_a_pinned_maps_entries_on_metrics()
    {
        using var dir = new PinDir();
        using BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 8, Name = "export_cli" });
        var typed = new BpfMap<uint, ulong>(map);
        typed.Update(80, 1234);
        typed.Update(443, 99);
        map.Pin(dir["counts"]);

        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        string config = Path.Combine(Path.GetTempPath(), $"bpfmap-export-{Guid.NewGuid():N}.json");
        File.WriteAllText(config, $$"""
            { "interval": "00:00:00.200",
              "maps": [ { "map": "pinned {{dir["counts"]}}", "key": "u32", "keyLabel": "port",
                          "metrics": [ { "name": "port_bytes", "kind": "counter", "help": "Bytes by port." } ] } ] }
            """);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "bpfmap.dll"), "export", "--config", config, "--listen", $"127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            string body = "";
            var until = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < until && !body.Contains("port=\"443\"", StringComparison.Ordinal))
            {
                Assert.False(p.HasExited, $"exporter exited {(p.HasExited ? p.ExitCode : 0)}: {(p.HasExited ? await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken) : "")}");
                try
                {
                    body = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(200, TestContext.Current.CancellationToken);
            }

            Assert.Matches("port_bytes_total\\{[^}]*port=\"80\"[^}]*\\} 1234", body);
            Assert.Matches("port_bytes_total\\{[^}]*port=\"443\"[^}]*\\} 99", body);

            // bpfmap became the exporter in place (execv): the same process now runs bpfmap-exporter,
            // and SIGTERM reaches it directly and stops it cleanly.
            string cmdline = File.ReadAllText($"/proc/{p.Id}/cmdline").Replace('\0', ' ');
            Assert.Contains("bpfmap-exporter", cmdline);
            Assert.DoesNotContain("bpfmap.dll", cmdline);
            Assert.Equal(0, Kill(p.Id, 15));
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await p.WaitForExitAsync(exited.Token);
            Assert.Equal(0, p.ExitCode);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(TestContext.Current.CancellationToken);
            File.Delete(config);
        }
    }
}
