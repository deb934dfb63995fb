using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Btf;
using BpfMaps.Tests.Infrastructure;

namespace BpfMaps.Tests.Btf;

public sealed class BtfSpecTests
{
    private static readonly Lazy<BtfSpec?> s_vmlinux = new(() => File.Exists("/sys/kernel/btf/vmlinux") ? BtfSpec.LoadVmlinux() : null);

    private static BtfSpec Vmlinux => s_vmlinux.Value ?? throw SkipException("no /sys/kernel/btf/vmlinux: this kernel was built without CONFIG_DEBUG_INFO_BTF");

    private static Exception SkipException(string why)
    {
        Assert.Skip(why);
        return null!;
    }

    [Fact]
    public void Vmlinux_parses_and_answers_queries()
    {
        BtfSpec k = Vmlinux;
        Assert.Equal(1u, k.FirstTypeId);
        Assert.True(k.TypeCount > 10_000, $"{k.TypeCount} types");
        Assert.Equal(8, k.PointerSize);

        BtfType task = k.FindType("task_struct", BtfKind.Struct);
        Assert.Equal(task.Size, (uint)k.SizeOf(task.Id));
        Assert.True(task.Vlen > 50);
        BtfMember pid = Enumerable.Range(0, task.Vlen).Select(task.Member).Single(m => m.Name == "pid");
        BtfType pidType = k.ResolveModifiers(pid.TypeId);
        Assert.Equal(BtfKind.Int, pidType.Kind);
        Assert.True(pidType.IsSigned);
        Assert.Equal(4, k.SizeOf(pid.TypeId));
        Assert.Equal(0u, pid.BitOffset % 32);

        BtfType pidT = k.FindType("pid_t", BtfKind.Typedef);
        Assert.Equal("pid_t", pidT.Name);
        Assert.Equal(4, k.AlignOf(pidT.Id));
        Assert.Equal(8, k.AlignOf(task.Id) % 8 == 0 ? 8 : k.AlignOf(task.Id));
        Assert.Empty(k.FindTypes("no_such_type_in_any_kernel"));
        Assert.False(k.TryFindType("task_struct", BtfKind.Union, out _));
        Assert.Throws<KeyNotFoundException>(() => k.FindType("task_struct", BtfKind.Enum));
    }

    [Fact]
    public void Vmlinux_is_parsed_from_the_files_bytes_and_its_spans_outlive_the_spec()
    {
        _ = Vmlinux;
        byte[] file = File.ReadAllBytes("/sys/kernel/btf/vmlinux");
        ReadOnlySpan<byte> raw = SpanOfADroppedSpec(out string name);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.True(raw.SequenceEqual(file), "RawBytes of a vmlinux spec that is gone differ from the file");

        BtfSpec again = BtfSpec.LoadVmlinux();
        Assert.Equal(name, again.GetString(again.FindType("task_struct", BtfKind.Struct).NameOffset));
        Assert.True(again.RawBytes.SequenceEqual(file));
        Assert.Equal(BtfSpec.Parse(file).TypeCount, again.TypeCount);
        BtfSpec viaFile = BtfSpec.LoadFile("/sys/kernel/btf/../btf/vmlinux");
        Assert.True(viaFile.RawBytes.SequenceEqual(file));

        if (!BtfSpec.VmlinuxIsMapped)
        {
            Assert.Skip("this kernel does not let /sys/kernel/btf/vmlinux be mapped (Linux 6.16 does): every parse reads the file");
        }

        // Mapped once: every vmlinux spec, from LoadVmlinux or LoadFile of the same file, parses the same pages;
        // read() into an array gives other memory with the same bytes.
        ref byte first = ref MemoryMarshal.GetReference(again.RawBytes);
        Assert.True(Unsafe.AreSame(ref first, ref MemoryMarshal.GetReference(raw)), "two LoadVmlinux calls parsed different memory");
        Assert.True(Unsafe.AreSame(ref first, ref MemoryMarshal.GetReference(viaFile.RawBytes)), "LoadFile of vmlinux did not use the mapping");
        BtfSpec read = BtfSpec.LoadVmlinux(allowMap: false);
        Assert.False(Unsafe.AreSame(ref first, ref MemoryMarshal.GetReference(read.RawBytes)));
        Assert.True(read.RawBytes.SequenceEqual(file));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static ReadOnlySpan<byte> SpanOfADroppedSpec(out string name)
    {
        BtfSpec spec = BtfSpec.LoadVmlinux();
        name = spec.FindType("task_struct", BtfKind.Struct).Name;
        return spec.RawBytes;
    }

    [Fact]
    public void Vmlinux_type_count_and_kinds_match_bpftool()
    {
        BtfSpec k = Vmlinux;
        string? bpftool = Which("bpftool");
        if (bpftool is null)
        {
            Assert.Skip("bpftool not installed (scripts/setup.sh installs it)");
        }

        var psi = new System.Diagnostics.ProcessStartInfo(bpftool, ["btf", "dump", "file", "/sys/kernel/btf/vmlinux"]) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var byKind = new Dictionary<string, int>();
        int lines = 0;
        string? last = null;
        while (p.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith('['))
            {
                lines++;
                string kind = line.Split(' ')[1];
                byKind[kind] = byKind.GetValueOrDefault(kind) + 1;
                last = line;
            }
        }

        p.WaitForExit();
        Assert.Equal(k.TypeCount - 1, lines);
        foreach (var (kind, count) in byKind)
        {
            Assert.True(count == k.Types().Count(t => t.Kind.KernelName() == kind), $"{kind}: bpftool {count}");
        }

        BtfType lastType = k.TypeById((uint)(k.TypeCount - 1));
        Assert.StartsWith($"[{lastType.Id}] {lastType.Kind.KernelName()} '{(lastType.Name.Length == 0 ? "(anon)" : lastType.Name)}'", last);
    }

    [Fact]
    public void Every_kind_round_trips_through_the_builder()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint s8 = b.AddInt("signed char", 1, isSigned: true, BtfIntEncoding.Char);
        uint boolean = b.AddInt("_Bool", 1, isSigned: false, BtfIntEncoding.Bool);
        uint dbl = b.AddFloat("double", 8);
        uint ptr = b.AddPointer(u32);
        uint arr = b.AddArray(s8, u32, 16);
        uint fwd = b.AddForward("opaque", isUnion: true);
        uint td = b.AddTypedef("u32_t", u32);
        uint cst = b.AddModifier(BtfKind.Const, "", td);
        uint vol = b.AddModifier(BtfKind.Volatile, "", cst);
        uint rst = b.AddModifier(BtfKind.Restrict, "", ptr);
        uint ttag = b.AddModifier(BtfKind.TypeTag, "user", u32);
        uint en = b.AddEnum("color", 4, isSigned: true, ("RED", -1), ("GREEN", 7));
        uint en64 = b.AddEnum64("big", 8, isSigned: false, ("HUGE", 0x1_0000_0000UL));
        uint st = b.AddComposite(BtfKind.Struct, "flags", 8,
        [
            new("a", u32, 0, 3),
            new("b", u32, 3, 13),
            new("", u32, 32, 0),
        ]);
        uint un = b.AddComposite(BtfKind.Union, "either", 8, [new("x", dbl, 0), new("y", u32, 0)]);
        uint proto = b.AddFunctionProto(u32, ("ctx", ptr), ("", 0));
        uint func = b.AddFunction("handler", proto, linkage: 1);
        uint var = b.AddVariable("counter", vol, linkage: 1);
        uint sec = b.AddDataSection(".data", 16, new BtfSectionVariable(var, 8, 4));
        uint tag = b.AddDeclTag("hot", func, componentIndex: 0);

        BtfSpec spec = BtfSpec.Parse(b.Build());
        Assert.Equal((int)tag + 1, spec.TypeCount);
        Assert.Equal(BtfKind.Void, spec.TypeById(0).Kind);

        Assert.True(spec.TypeById(s8).IsChar);
        Assert.True(spec.TypeById(s8).IsSigned);
        Assert.True(spec.TypeById(boolean).IsBool);
        Assert.Equal(32, spec.TypeById(u32).IntBits);
        Assert.Equal(BtfKind.Float, spec.TypeById(dbl).Kind);
        Assert.Equal(u32, spec.TypeById(ptr).Type);
        Assert.Equal(16u, spec.TypeById(arr).ArrayLength);
        Assert.Equal(s8, spec.TypeById(arr).ArrayElementType);
        Assert.Equal(16, spec.SizeOf(arr));
        Assert.True(spec.TypeById(fwd).KindFlag);
        Assert.Equal(u32, spec.ResolveModifiers(vol).Id);
        Assert.Equal(ptr, spec.ResolveModifiers(rst).Id);
        Assert.Equal("user", spec.TypeById(ttag).Name);
        Assert.Equal(4, spec.SizeOf(var));

        BtfType color = spec.TypeById(en);
        Assert.True(color.IsSigned);
        Assert.Equal(unchecked((ulong)-1L), color.EnumValue(0).Value);
        Assert.Equal("GREEN", color.EnumValue(1).Name);
        Assert.Equal(0x1_0000_0000UL, spec.TypeById(en64).EnumValue(0).Value);

        BtfType flags = spec.TypeById(st);
        Assert.True(flags.KindFlag);
        Assert.Equal(new BtfMember(spec, flags.Member(1).NameOffset, u32, 3, 13), flags.Member(1));
        Assert.Equal("", flags.Member(2).Name);
        Assert.Equal(32u, flags.Member(2).BitOffset);
        Assert.Equal(8, spec.AlignOf(un));
        Assert.Equal(2, spec.TypeById(proto).Vlen);
        Assert.Equal("ctx", spec.TypeById(proto).Parameter(0).Name);
        Assert.Equal(0u, spec.TypeById(proto).Parameter(1).TypeId);
        Assert.Equal(1, spec.TypeById(func).Vlen);
        Assert.Equal(1u, spec.TypeById(var).VariableLinkage);
        Assert.Equal(new BtfSectionVariable(var, 8, 4), spec.TypeById(sec).SectionVariable(0));
        Assert.Equal(0, spec.TypeById(tag).DeclTagComponentIndex);
        Assert.Equal([un], spec.FindTypes("either"));

        Assert.Throws<InvalidOperationException>(() => spec.TypeById(u32).Member(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => flags.Member(3));
        Assert.Throws<BtfException>(() => spec.SizeOf(fwd));
        Assert.Throws<BtfException>(() => spec.SizeOf(func));
    }

    [Fact]
    public void Split_btf_continues_the_base_ids_and_strings()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("u32", 4, isSigned: false);
        BtfSpec baseSpec = BtfSpec.Parse(b.Build());

        var split = new BtfBuilder(baseSpec);
        uint s = split.AddStruct("module_thing", 8, ("count", u32, 0), ("u32", u32, 4));
        BtfSpec module = BtfSpec.Parse(split.Build(), baseSpec);

        Assert.Equal(2u, module.FirstTypeId);
        Assert.Equal(2u, s);
        Assert.Equal(3, module.TypeCount);
        Assert.Equal("u32", module.TypeById(u32).Name);
        BtfType thing = module.TypeById(s);
        Assert.Equal("module_thing", thing.Name);
        Assert.Equal("count", thing.Member(0).Name);
        Assert.Equal("u32", thing.Member(1).Name);
        Assert.Equal(4, module.SizeOf(thing.Member(0).TypeId));
        Assert.Equal([u32], module.FindTypes("u32"));
        Assert.Single(module.Types());
    }

    [Fact]
    public void Kernel_btf_objects_can_be_listed_and_read()
    {
        Infrastructure.Kernel.Require();
        List<uint> ids = BtfSpec.GetSystemBtfIds();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Order(), ids);

        var b = new BtfBuilder();
        uint u64 = b.AddInt("unsigned long long", 8, isSigned: false);
        b.AddStruct("loaded_here", 16, ("a", u64, 0), ("b", u64, 8));
        using BtfObject obj = BtfObject.Load(b.Build());
        BtfSpec fromKernel = BtfSpec.Load(obj.Fd);
        Assert.Equal("loaded_here", fromKernel.TypeById(2).Name);
        Assert.Equal(16, fromKernel.SizeOf(2));

        BtfObjectInfo vmlinux = BtfSpec.GetInfo(ids.First(id => BtfSpec.GetInfo(id).IsKernel));
        Assert.Equal("vmlinux", vmlinux.Name);
        if (File.Exists("/sys/kernel/btf/vmlinux"))
        {
            Assert.Equal(new FileInfo("/sys/kernel/btf/vmlinux").Length, vmlinux.Size);
            Assert.Equal(Vmlinux.TypeCount, BtfSpec.LoadById(vmlinux.Id).TypeCount);
        }

        var missing = Assert.Throws<BpfException>(() => BtfSpec.LoadById(uint.MaxValue - 3));
        Assert.Equal(Errno.ENOENT, missing.Errno);
        Assert.Contains("no BTF object with id", missing.Message);
    }

    [Fact]
    public void Vlen_is_read_as_twenty_four_bits()
    {
        var b = new BtfBuilder();
        (string, int)[] values = [.. Enumerable.Range(0, 70_000).Select(i => ($"V{i}", i))];
        uint e = b.AddEnum("big", 4, isSigned: false, values);
        BtfSpec spec = BtfSpec.Parse(b.Build());
        Assert.Equal(70_000, spec.TypeById(e).Vlen);
        Assert.Equal("V69999", spec.TypeById(e).EnumValue(69_999).Name);
    }

    [Fact]
    public void Module_names_must_be_file_names()
    {
        foreach (string bad in new[] { "../etc/passwd", ".." })
        {
            var e = Assert.Throws<ArgumentException>(() => BtfSpec.LoadKernelModule(bad));
            Assert.Equal("module", e.ParamName);
            Assert.Contains($"'{bad}' is not a module name", e.Message);
        }
    }

    private static string? Which(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
            ?? new[] { "/usr/sbin/bpftool", "/usr/bin/bpftool" }.FirstOrDefault(File.Exists);
}
