using System.Diagnostics;
using BpfMaps.Exporter.Tests.Infrastructure;

namespace BpfMaps.Exporter.Tests;

/// <summary>--config paths that are not files: one line each, exit 2 from the library (12 from bpfmap), never a hang.</summary>
public sealed class ConfigPathTests
{
    private static string Error(string path)
    {
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Load(path, []));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void A_directory_is_named_as_one()
    {
        string dir = Directory.CreateTempSubdirectory("bpfmaps-cfg").FullName;
        try
        {
            Assert.Equal($"config file '{dir}' is a directory, not a file to read", Error(dir));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void A_fifo_is_refused_without_opening_it()
    {
        string dir = Directory.CreateTempSubdirectory("bpfmaps-cfg").FullName;
        string fifo = Path.Combine(dir, "config.json");
        try
        {
            using (var p = Process.Start("mkfifo", [fifo]))
            {
                p.WaitForExit();
                Assert.Equal(0, p.ExitCode);
            }

            Assert.Equal($"config file '{fifo}' is a FIFO (named pipe), not a file to read", Error(fifo));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_device_and_a_missing_file()
    {
        Assert.Equal("config file '/dev/null' is a character device, not a file to read", Error("/dev/null"));
        Assert.Equal("config file '/nonexistent/bpfmaps.json' not found", Error("/nonexistent/bpfmaps.json"));
    }

    [Fact]
    public void A_pinned_map_is_not_a_configuration()
    {
        using BpfMap map = TestMaps.Create(MapType.Hash, 4, 8);
        if (BpfFs.IsOnBpfFs("/sys/fs/bpf") != true)
        {
            Assert.Skip("bpffs is not mounted at /sys/fs/bpf");
        }

        string pin = $"/sys/fs/bpf/bpfmaps-cfg-{Environment.ProcessId}-{Guid.NewGuid():N}";
        map.Pin(pin);
        try
        {
            Assert.Equal($"config file '{pin}' is a pinned BPF object on bpffs, not a file to read", Error(pin));
        }
        finally
        {
            File.Delete(pin);
        }
    }
}
