using System.Text.Json.Nodes;
using BpfMaps.Btf;
using BpfMaps.Tests.Corpus;
using static BpfMaps.Cli.Tests.Cli;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests.Btf;

/// <summary>
/// Bad <c>btf</c> input: each gives one stderr line naming what is wrong (for malformed BTF, the byte
/// offset or type id), its own exit code, and no stack trace; with <c>-j</c>, stdout is one JSON error object.
/// </summary>
public sealed class BtfBadInputTests(BtfCorpus corpus) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bpfmap-btf-bad").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] ValidBtf()
    {
        var b = new BtfBuilder();
        uint i = b.AddInt("int", 4, isSigned: true);
        b.AddStruct("pair", 8, ("a", i, 0), ("b", i, 4));
        return b.Build();
    }

    [Fact]
    public void No_such_btf_id()
    {
        Kernel.Require();
        Fails(ExitCode.NoBtf, "no BTF object with id 999999", "btf", "dump", "id", "999999");
        Fails(ExitCode.NoBtf, "no BTF object with id 999999", "btf", "show", "id", "999999");

        // bpftool -j prints two error objects side by side here, which is not JSON; bpfmap prints one.
        RunResult j = Fails(ExitCode.NoBtf, "no BTF object with id 999999", "-j", "btf", "dump", "id", "999999");
        Assert.Equal("no BTF object with id 999999", JsonNode.Parse(j.Stdout)!["error"]!.GetValue<string>());
    }

    [Fact]
    public void A_map_without_btf()
    {
        Kernel.Require();
        using BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4, Name = "no_btf" });
        foreach (string part in (string[])["key", "value", "kv", "all"])
        {
            Fails(ExitCode.NoBtf, $"map {map.Id} (no_btf) has no BTF", "btf", "dump", "map", "id", $"{map.Id}", part);
        }

        Fails(ExitCode.MapNotFound, "no map with id 4294967295", "btf", "dump", "map", "id", "4294967295");
    }

    [Fact]
    public void Files_that_are_not_btf()
    {
        Fails(ExitCode.NoBtf, "no such file", "btf", "dump", "file", Path.Combine(_dir, "missing"));
        Fails(ExitCode.BadBtf, "is a directory", "btf", "dump", "file", _dir);
        Fails(ExitCode.BadBtf, "neither raw BTF (magic 0xeb9f) nor an ELF object", "btf", "dump", "file", Write("text", "hello, world\n"u8.ToArray()));
        Fails(ExitCode.BadBtf, "too few for a BTF header (at byte offset 0)", "btf", "dump", "file", Write("empty", []));

        // An ELF program without BTF: the test host itself.
        Fails(ExitCode.BadBtf, "no .BTF section", "btf", "dump", "file", "/proc/self/exe");
    }

    [Fact]
    public void Malformed_raw_btf_names_the_offset_or_type_id()
    {
        byte[] good = ValidBtf();
        Assert.Equal(0, Run("btf", "dump", "file", Write("good", good)).Exit);

        byte[] magic = (byte[])good.Clone();
        magic[0] = 0x00;
        Fails(ExitCode.BadBtf, "(at byte offset 0)", "btf", "dump", "file", Write("magic", magic));

        Fails(ExitCode.BadBtf, "truncated", "btf", "dump", "file", Write("truncated", good[..(good.Length - 9)]));

        // The second member of struct pair (type id 2) names type id 99.
        BtfSpec spec = BtfSpec.Parse(good);
        int typeSection = 24 + (int)BitConverter.ToUInt32(good, 8);
        int member1Type = typeSection + 16 + 12 + 12 + 4;
        Assert.Equal(1u, BitConverter.ToUInt32(good, member1Type));
        Assert.Equal(spec.TypeById(2).Member(1).TypeId, BitConverter.ToUInt32(good, member1Type));
        byte[] badRef = (byte[])good.Clone();
        BitConverter.GetBytes(99u).CopyTo(badRef, member1Type);
        Fails(ExitCode.BadBtf, "type id 2: member 1's type is type id 99", "btf", "dump", "file", Write("badref", badRef));

        // -j: the error is the one JSON document on stdout, nothing was rendered before it.
        RunResult j = Fails(ExitCode.BadBtf, "type id 2", "-j", "btf", "dump", "file", Path.Combine(_dir, "badref"));
        Assert.Contains("type id 2", JsonNode.Parse(j.Stdout)!["error"]!.GetValue<string>());
    }

    [Fact]
    public void Malformed_elf_names_the_file_offset()
    {
        corpus.Require();
        byte[] obj = File.ReadAllBytes(BtfCorpus.ObjectFile("flows"));
        Fails(ExitCode.BadBtf, "ELF: ", "btf", "dump", "file", Write("cut.o", obj[..(obj.Length / 2)]));
        Fails(ExitCode.BadBtf, "file offset", "btf", "dump", "file", Write("cut.o", obj[..(obj.Length / 2)]));
        Fails(ExitCode.BadBtf, "64-bit ELF header", "btf", "dump", "file", Write("head.o", obj[..40]));

        byte[] elf32 = (byte[])obj.Clone();
        elf32[4] = 1;
        Fails(ExitCode.BadBtf, "32-bit ELF objects are not supported (BPF objects are ELF64) (at file offset 4)", "btf", "dump", "file", Write("elf32.o", elf32));

        // The .BTF section's own header says where it starts: a bad magic there names both offsets.
        int btf = obj.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x9f, 0xeb, 0x01, 0x00]);
        Assert.True(btf > 0);
        byte[] badMagic = (byte[])obj.Clone();
        badMagic[btf] = 0;
        Fails(ExitCode.BadBtf, $"(at byte offset 0) in the .BTF section, which starts at file offset {btf}", "btf", "dump", "file", Write("badmagic.o", badMagic));
    }

    [Fact]
    public void Cut_or_scribbled_objects_never_fail_any_other_way()
    {
        corpus.Require();
        byte[] obj = File.ReadAllBytes(BtfCorpus.ObjectFile("layouts"));
        var random = new Random(1234);
        for (int n = 0; n < 60; n++)
        {
            byte[] bad = n < 30 ? obj[..random.Next(obj.Length)] : (byte[])obj.Clone();
            if (n >= 30)
            {
                // Scribble over the ELF header or section headers, where offsets and sizes live.
                int at = random.Next(2) == 0 ? random.Next(64) : (int)(BitConverter.ToUInt64(obj, 40) + (ulong)random.Next(obj.Length - (int)BitConverter.ToUInt64(obj, 40)));
                bad[Math.Min(at, bad.Length - 1)] ^= (byte)random.Next(1, 256);
            }

            RunResult r = Run("btf", "dump", "file", Write("scribbled.o", bad));
            Assert.True(r.Exit is 0 or (int)ExitCode.BadBtf, $"case {n}: exit {r.Exit}: {r.Stderr}");
            Assert.True(r.Exit == 0 || r.StderrLines.Length == 1, r.Stderr);
        }
    }

    [Theory]
    [InlineData((int)ExitCode.Usage, "Unrecognized command or argument 'frob'", "btf", "frob")]
    [InlineData((int)ExitCode.Usage, "Required command", "btf")]
    [InlineData((int)ExitCode.Usage, "format c (C declarations) is not supported", "btf", "dump", "id", "1", "format", "c")]
    [InlineData((int)ExitCode.Usage, "unknown format 'x'", "btf", "dump", "id", "1", "format", "x")]
    [InlineData((int)ExitCode.Usage, "unexpected argument 'extra'", "btf", "dump", "id", "1", "extra")]
    [InlineData((int)ExitCode.Usage, "unexpected argument 'x'", "btf", "show", "id", "1", "x")]
    [InlineData((int)ExitCode.Usage, "--format csv is not supported", "--format", "csv", "btf", "show")]
    [InlineData((int)ExitCode.BadSelector, "expected a BTF source", "btf", "dump")]
    [InlineData((int)ExitCode.BadSelector, "'ids' is not a BTF source", "btf", "dump", "ids", "1")]
    [InlineData((int)ExitCode.BadSelector, "BTF id 'x' is not a positive integer", "btf", "dump", "id", "x")]
    [InlineData((int)ExitCode.BadSelector, "BTF id '0' is not a positive integer", "btf", "show", "id", "0")]
    [InlineData((int)ExitCode.BadSelector, "'id' needs a value", "btf", "show", "id")]
    [InlineData((int)ExitCode.BadSelector, "expected id N, got 'foo'", "btf", "show", "foo")]
    [InlineData((int)ExitCode.BadSelector, "'prog' sources are not supported", "btf", "dump", "prog", "id", "1")]
    [InlineData((int)ExitCode.BadSelector, "'file' needs a path", "btf", "dump", "file")]
    [InlineData((int)ExitCode.BadSelector, "expected a map", "btf", "dump", "map")]
    public void Usage_errors(int code, string message, params string[] args) => Fails((ExitCode)code, message, args);

    [Fact]
    public void Without_privileges_files_dump_and_kernel_objects_are_permission_denied()
    {
        Kernel.Require();
        RunResult file = RunUnprivileged("btf", "dump", "file", "/sys/kernel/btf/vmlinux");
        Assert.True(file.Exit == 0, file.Stderr);
        Assert.StartsWith("[1] ", file.Stdout);
        foreach (string[] args in (string[][])[["btf", "show"], ["btf", "dump", "id", "1"]])
        {
            RunResult r = RunUnprivileged(args);
            Assert.True(r.Exit == (int)ExitCode.PermissionDenied, $"{string.Join(' ', args)}: exit {r.Exit}, {r.Stderr}");
            Assert.Single(r.StderrLines);
            Assert.Matches("^bpfmap: permission denied \\(BPF_[A-Z_]+\\): run as root", r.Stderr);
        }
    }

    [Fact]
    public void A_child_process_prints_one_line_too()
    {
        string path = Write("junk", "junk"u8.ToArray());
        RunResult r = RunProcess(null, "btf", "dump", "file", path);
        Assert.Equal((int)ExitCode.BadBtf, r.Exit);
        Assert.Single(r.StderrLines);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
    }
}
