using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>Telling a path that cannot hold a pin from a real permission problem.</summary>
public class BpfFsTests
{
    [Fact]
    public void Bpffs_is_told_from_other_file_systems_by_statfs()
    {
        Assert.False(BpfFs.IsOnBpfFs("/proc"));
        Assert.Null(BpfFs.IsOnBpfFs($"/nonexistent-{Environment.ProcessId}"));
        if (Directory.Exists("/sys/fs/bpf") && File.ReadAllText("/proc/self/mounts").Contains(" /sys/fs/bpf bpf ", StringComparison.Ordinal))
        {
            Assert.True(BpfFs.IsOnBpfFs("/sys/fs/bpf"));
        }
    }

    [Fact]
    public void A_directory_or_a_file_off_bpffs_is_not_a_pin_but_a_real_pin_is()
    {
        Require();
        Assert.Equal("/proc is a directory, not a pinned BPF object", BpfFs.WhyNotAPin("/proc"));
        Assert.StartsWith("/proc/self/status is not on a bpffs mount", BpfFs.WhyNotAPin("/proc/self/status"));
        Assert.Null(BpfFs.WhyNotAPin($"/nonexistent-{Environment.ProcessId}"));

        using BpfMap map = Hash(maxEntries: 1, name: "fs_pin");
        string path = $"/sys/fs/bpf/bpfmaps-fs-{Environment.ProcessId}";
        map.Pin(path);
        try
        {
            Assert.Null(BpfFs.WhyNotAPin(path));
            Assert.Null(BpfFs.WhyCannotPinAt(path + "-other"));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.StartsWith("/proc/x is not on a bpffs mount; pin under /sys/fs/bpf", BpfFs.WhyCannotPinAt("/proc/x"));
    }
}
