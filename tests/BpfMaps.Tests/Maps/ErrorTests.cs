using System.Diagnostics;
using BpfMaps.Kernel;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

public class ErrorTests
{
    [Fact]
    public void Wrong_key_size_names_both_sizes()
    {
        using var map = Hash(keySize: 4);
        var e = Assert.Throws<MapSizeMismatchException>(() => map.TryLookup(new byte[3], new byte[8]));
        Assert.Equal("key is 3 bytes but the map expects 4 bytes (Parameter 'key')", e.Message);
        Assert.Equal((4, 3), (e.Expected, e.Actual));
        Assert.Equal(5, Assert.Throws<MapSizeMismatchException>(() => map.Update(new byte[5], new byte[8])).Actual);
        Assert.Equal(2, Assert.Throws<MapSizeMismatchException>(() => map.Delete(new byte[2])).Actual);
        var v = Assert.Throws<MapSizeMismatchException>(() => map.Update(new byte[4], new byte[7]));
        Assert.Contains("value is 7 bytes but the map expects 8 bytes", v.Message);
        Assert.Equal((8, 7), (v.Expected, v.Actual));
        var batch = Assert.Throws<ArgumentException>(() => map.LookupBatch(map.CreateCursor(), new byte[10], new byte[16]));
        Assert.Contains("not a multiple of the key size 4", batch.Message);
    }

    [Fact]
    public void Errors_name_the_failed_command_as_an_enum()
    {
        Require();
        var id = Assert.Throws<BpfException>(() => BpfMap.OpenById(uint.MaxValue - 7));
        Assert.Equal(BpfCommand.BPF_MAP_GET_FD_BY_ID, id.FailedCommand);
        Assert.Null(id.FailedCall);
        Assert.Equal("BPF_MAP_GET_FD_BY_ID", id.Command);

        // A refusal for want of a feature is a BpfException too, with the command that refused.
        using var array = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 2 });
        BpfException notSupported = Assert.ThrowsAny<BpfException>(() => array.DeleteBatch(U32(0)));
        var n = Assert.IsType<BpfNotSupportedException>(notSupported);
        Assert.Equal(BpfCommand.BPF_MAP_DELETE_BATCH, n.FailedCommand);
        Assert.Contains("BPF_MAP_DELETE_BATCH on Array", n.Message);

        // A call other than bpf() is named by KernelCall, and Command spells it as the system does.
        var mmap = new BpfException(Errno.EPERM, KernelCall.Mmap, null);
        Assert.Null(mmap.FailedCommand);
        Assert.Equal(KernelCall.Mmap, mmap.FailedCall);
        Assert.Equal("mmap", mmap.Command);
        Assert.StartsWith("mmap: EPERM (1)", mmap.Message);
    }

    [Fact]
    public void Closed_map_gives_EBADF()
    {
        var map = Hash();
        map.Dispose();
        var e = Assert.Throws<BpfException>(() => map.TryLookup(U32(1), new byte[8]));
        Assert.Equal(Errno.EBADF, e.Errno);
        Assert.Contains("closed", e.Message);
    }

    [Fact]
    public void Foreign_descriptor_is_refused_and_closed()
    {
        Require();
        using var file = File.OpenHandle("/dev/null");
        int dup = BpfMaps.Interop.Interop.Dup((int)file.DangerousGetHandle());
        Assert.True(dup >= 0);
        var e = Assert.Throws<BpfException>(() => BpfMap.FromOwnedFd(new BpfFd(dup)));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Contains("not a BPF object", e.Message);
        Assert.False(File.Exists($"/proc/self/fd/{dup}") && new FileInfo($"/proc/self/fd/{dup}").LinkTarget == "/dev/null", "the foreign fd was closed");

        // A BPF object that is not a map (BTF) is refused too.
        var b = new BpfMaps.Btf.BtfBuilder();
        b.AddInt("int", 4, isSigned: true);
        using var btf = BpfMaps.Btf.BtfObject.Load(b.Build());
        int btfDup = BpfMaps.Interop.Interop.Dup(btf.Fd.Value);
        var e2 = Assert.Throws<BpfException>(() => BpfMap.FromOwnedFd(new BpfFd(btfDup)));
        Assert.Contains("not a map", e2.Message);
    }

    [Fact]
    public void Missing_id_and_pin()
    {
        Require();
        var id = Assert.Throws<BpfException>(() => BpfMap.OpenById(uint.MaxValue - 7));
        Assert.Equal(Errno.ENOENT, id.Errno);
        Assert.Contains($"no map with id {uint.MaxValue - 7}", id.Message);

        var pin = Assert.Throws<BpfException>(() => BpfMap.OpenPinned("/sys/fs/bpf/bpfmaps-no-such-pin"));
        Assert.Equal(Errno.ENOENT, pin.Errno);
        Assert.Contains("/sys/fs/bpf/bpfmaps-no-such-pin", pin.Message);
        Assert.Contains("nothing is pinned", pin.Message);

        // A path that exists but is not a BPF object: the kernel says EACCES even to root.
        string file = Path.GetTempFileName();
        try
        {
            var notPin = Assert.Throws<BpfException>(() => BpfMap.OpenPinned(file));
            Assert.Equal(Errno.EACCES, notPin.Errno);
            Assert.Contains($"{file} is not on a bpffs mount, so it is not a pinned BPF object", notPin.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Pin_outside_bpffs_and_oversized_create_have_their_own_hints()
    {
        Require();
        using var map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 1 });
        string path = Path.Combine(Path.GetTempPath(), $"bpfmaps-pin-{Environment.ProcessId}");
        var pin = Assert.Throws<BpfException>(() => map.Pin(path));
        Assert.Equal(Errno.EPERM, pin.Errno);
        Assert.Contains($"{path} is not on a bpffs mount; pin under /sys/fs/bpf", pin.Message);
        Assert.False(File.Exists(path));

        // /proc exists but cannot hold the entry: the kernel says ENOENT, and the message says why.
        var proc = Assert.Throws<BpfException>(() => map.Pin("/proc/bpfmaps-pin"));
        Assert.Equal(Errno.ENOENT, proc.Errno);
        Assert.Contains("/proc/bpfmaps-pin is not on a bpffs mount", proc.Message);

        var noDir = Assert.Throws<BpfException>(() => map.Pin($"/sys/fs/bpf/bpfmaps-no-such-dir-{Environment.ProcessId}/m"));
        Assert.Equal(Errno.ENOENT, noDir.Errno);
        Assert.Contains("the directory to pin in does not exist", noDir.Message);

        // htab refuses an element past what kmalloc can hold with E2BIG: too large, not full.
        var create = Assert.Throws<BpfException>(() => BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 2_000_000_000, MaxEntries = 1 }));
        Assert.Equal(Errno.E2BIG, create.Errno);
        Assert.Contains("past the kernel's limits", create.Message);
        Assert.DoesNotContain("full", create.Message);
    }

    [Fact]
    public void Invalid_spec_is_an_argument_error()
    {
        var e = Assert.Throws<ArgumentException>(() => BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 1, Name = "bad name!" }));
        Assert.Contains("only ASCII letters", e.Message);
        Assert.Throws<ArgumentException>(() => BpfMap.Create(new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1 }));
        Require();
        var k = Assert.Throws<BpfException>(() => BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 8, ValueSize = 8, MaxEntries = 1 }));
        Assert.Equal(Errno.EINVAL, k.Errno);
        Assert.Equal("BPF_MAP_CREATE", k.Command);
    }

    private static string ProbePath()
    {
        // tests/BpfMaps.Tests/bin/<Config>/net10.0 -> tests/BpfMaps.Tests.Probe/bin/<Config>/net10.0
        string baseDir = AppContext.BaseDirectory.TrimEnd('/');
        string config = Path.GetFileName(Path.GetDirectoryName(baseDir)!);
        string p = Path.GetFullPath(Path.Combine(baseDir, "../../../../BpfMaps.Tests.Probe/bin", config, "net10.0/BpfMaps.Tests.Probe.dll"));
        Assert.True(File.Exists(p), $"probe not built at {p}");
        return p;
    }

    private static (int Code, string Out) RunUnprivileged(params string[] args)
    {
        if (BpfMaps.Tests.Common.UnprivilegedChild.WhyUnavailable() is { } why)
        {
            Assert.Skip(why);
        }

        var psi = new ProcessStartInfo(BpfMaps.Tests.Common.UnprivilegedChild.Setpriv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string dotnet = Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath! : "dotnet";
        foreach (string a in BpfMaps.Tests.Common.UnprivilegedChild.Setpriv.Skip(1).Concat([dotnet, BpfMaps.Tests.Common.UnprivilegedChild.Stage(ProbePath())]).Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        psi.Environment["HOME"] = "/tmp";
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(stderr.Length == 0, $"probe wrote to stderr: {stderr}");
        return (p.ExitCode, stdout.Trim());
    }

    [Fact]
    public void Without_capabilities_every_entry_point_says_permission_denied()
    {
        Require();
        if (File.ReadAllText("/proc/sys/kernel/unprivileged_bpf_disabled").Trim() == "0")
        {
            Assert.Skip("kernel.unprivileged_bpf_disabled=0: this kernel lets unprivileged users create maps");
        }

        using var map = Hash(name: "t_perm");

        foreach (string[] probe in new[] { new[] { "create" }, new[] { "open-id", map.Id.ToString() }, new[] { "list" } })
        {
            var (code, output) = RunUnprivileged(probe);
            Assert.Equal(1, code);
            Assert.Single(output.Split('\n'));
            Assert.StartsWith("BpfException: ", output);
            Assert.Contains("EPERM", output);
            Assert.Contains("needs root or CAP_BPF", output);
        }
    }
}
