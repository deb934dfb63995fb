using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Interop;

namespace BpfMaps.Tests.Interop;

/// <summary>Compiles a C program against linux/bpf.h and checks every interop struct's size and field offsets.</summary>
public class LayoutTests
{
    // (C# struct, C expression for the struct or union member, field pairs C#-name -> C-member)
    private static readonly (Type Cs, string C, string[] Fields)[] s_structs =
    [
        (typeof(MapCreateAttr), "((union bpf_attr*)0)->map_type", ["map_type", "key_size", "value_size", "max_entries", "map_flags", "inner_map_fd", "numa_node", "map_name", "map_ifindex", "btf_fd", "btf_key_type_id", "btf_value_type_id", "btf_vmlinux_value_type_id", "map_extra"]),
        (typeof(MapElemAttr), "((union bpf_attr*)0)->map_fd", ["map_fd", "key", "value", "next_key", "flags"]),
        (typeof(MapBatchAttr), "((union bpf_attr*)0)->batch", ["in_batch", "out_batch", "keys", "values", "count", "map_fd", "elem_flags", "flags"]),
        (typeof(ObjAttr), "((union bpf_attr*)0)->pathname", ["pathname", "bpf_fd", "file_flags"]),
        (typeof(GetIdAttr), "((union bpf_attr*)0)->start_id", ["start_id", "next_id", "open_flags"]),
        (typeof(InfoByFdAttr), "((union bpf_attr*)0)->info.info", ["bpf_fd", "info_len", "info"]),
        (typeof(BpfMapInfoNative), "struct bpf_map_info", ["type", "id", "key_size", "value_size", "max_entries", "map_flags", "name", "ifindex", "btf_vmlinux_value_type_id", "netns_dev", "netns_ino", "btf_id", "btf_key_type_id", "btf_value_type_id", "map_extra"]),
        // gpl_compatible is a bitfield, whose offset C cannot take; the members around it pin it down.
        (typeof(BpfProgInfoNative), "struct bpf_prog_info", ["type", "id", "tag", "jited_prog_len", "xlated_prog_len", "jited_prog_insns", "xlated_prog_insns", "load_time", "created_by_uid", "nr_map_ids", "map_ids", "name", "ifindex", "netns_dev", "netns_ino", "nr_jited_ksyms", "nr_jited_func_lens", "jited_ksyms", "jited_func_lens", "btf_id", "func_info_rec_size", "func_info", "nr_func_info", "nr_line_info", "line_info", "jited_line_info", "nr_jited_line_info", "line_info_rec_size", "jited_line_info_rec_size", "nr_prog_tags", "prog_tags", "run_time_ns", "run_cnt", "recursion_misses", "verified_insns", "attach_btf_obj_id", "attach_btf_id"]),
        (typeof(ProgLoadAttr), "((union bpf_attr*)0)->prog_type", ["prog_type", "insn_cnt", "insns", "license", "log_level", "log_size", "log_buf", "kern_version", "prog_flags", "prog_name", "prog_ifindex", "expected_attach_type", "prog_btf_fd", "func_info_rec_size", "func_info", "func_info_cnt", "line_info_rec_size", "line_info", "line_info_cnt", "attach_btf_id", "attach_prog_fd", "core_relo_cnt", "fd_array", "core_relos", "core_relo_rec_size"]),
        (typeof(TestRunAttr), "((union bpf_attr*)0)->test", ["prog_fd", "retval", "data_size_in", "data_size_out", "data_in", "data_out", "repeat", "duration", "ctx_size_in", "ctx_size_out", "ctx_in", "ctx_out", "flags", "cpu", "batch_size"]),
        (typeof(BtfLoadAttr), "((union bpf_attr*)0)->btf", ["btf", "btf_log_buf", "btf_size", "btf_log_size", "btf_log_level"]),
        (typeof(BpfBtfInfoNative), "struct bpf_btf_info", ["btf", "btf_size", "id", "name", "name_len", "kernel_btf"]),
        // glibc packs it on x86-64 only; the interop picks the layout for the architecture it runs on.
        (Epoll.Packed ? typeof(Epoll.EpollEventPacked) : typeof(Epoll.EpollEvent), "struct epoll_event", ["events", "data"]),
        // The bitfield word after read_format has no C name to take the offset of; its bits are checked as constants below.
        (typeof(PerfEventAttr), "struct perf_event_attr", ["type", "size", "config", "sample_period", "sample_freq", "sample_type", "read_format", "wakeup_events", "wakeup_watermark", "bp_type", "config1", "config2", "branch_sample_type", "sample_regs_user", "sample_stack_user", "clockid", "sample_regs_intr", "aux_watermark", "sample_max_stack", "aux_sample_size", "sig_data"]),
        (typeof(PerfEventMmapPage), "struct perf_event_mmap_page", ["version", "compat_version", "lock", "index", "offset", "time_enabled", "time_running", "capabilities", "pmc_width", "time_shift", "time_mult", "time_offset", "time_zero", "size", "time_cycles", "time_mask", "data_head", "data_tail", "data_offset", "data_size", "aux_head", "aux_tail", "aux_offset", "aux_size"]),
        (typeof(PerfEventHeader), "struct perf_event_header", ["type", "misc", "size"]),
    ];

    // Constants the event code takes from C headers: (C expression, the value the library uses).
    private static readonly (string C, long Value)[] s_constants =
    [
        ("BPF_RINGBUF_BUSY_BIT", BpfMaps.Events.RingLayout.BusyBit),
        ("BPF_RINGBUF_DISCARD_BIT", BpfMaps.Events.RingLayout.DiscardBit),
        ("BPF_RINGBUF_HDR_SZ", BpfMaps.Events.RingLayout.HeaderSize),
        ("BPF_RB_NO_WAKEUP", (long)BpfMaps.Programs.RingBufferWakeup.None),
        ("BPF_RB_FORCE_WAKEUP", (long)BpfMaps.Programs.RingBufferWakeup.Force),
        ("BPF_PSEUDO_CALL", BpfMaps.Asm.InstructionBuilder.PseudoCall),
        ("BPF_PSEUDO_FUNC", BpfMaps.Asm.InstructionBuilder.PseudoFunc),
        ("BPF_FUNC_perf_event_output", (long)BpfMaps.Asm.HelperFunction.PerfEventOutput),
        ("BPF_FUNC_ringbuf_output", (long)BpfMaps.Asm.HelperFunction.RingbufOutput),
        ("BPF_FUNC_ringbuf_reserve", (long)BpfMaps.Asm.HelperFunction.RingbufReserve),
        ("BPF_FUNC_ringbuf_submit", (long)BpfMaps.Asm.HelperFunction.RingbufSubmit),
        ("BPF_FUNC_ringbuf_discard", (long)BpfMaps.Asm.HelperFunction.RingbufDiscard),
        ("BPF_FUNC_ringbuf_query", (long)BpfMaps.Asm.HelperFunction.RingbufQuery),
        ("BPF_FUNC_dynptr_read", (long)BpfMaps.Asm.HelperFunction.DynptrRead),
        ("BPF_FUNC_user_ringbuf_drain", (long)BpfMaps.Asm.HelperFunction.UserRingbufDrain),
        ("EPOLLIN", Epoll.In),
        ("EPOLLOUT", Epoll.Out),
        ("EPOLL_CLOEXEC", Epoll.Cloexec),
        ("EPOLL_CTL_ADD", Epoll.CtlAdd),
        ("EPOLL_CTL_DEL", Epoll.CtlDel),
        ("EFD_CLOEXEC", EventFd.Cloexec),
        ("EFD_NONBLOCK", EventFd.NonBlock),
        ("PROT_READ", Mman.ProtRead),
        ("PROT_WRITE", Mman.ProtWrite),
        ("PROT_NONE", Mman.ProtNone),
        ("MAP_SHARED", Mman.MapShared),
        ("MAP_PRIVATE", Mman.MapPrivate),
        ("MAP_FIXED", Mman.MapFixed),
        ("MAP_ANONYMOUS", Mman.MapAnonymous),
        ("MFD_CLOEXEC", Mman.MfdCloexec),
        ("EPOLLERR", Epoll.Err),
        ("EPOLLHUP", Epoll.Hup),
        ("__NR_perf_event_open", PerfEvent.SysPerfEventOpen),
        ("PERF_TYPE_SOFTWARE", PerfEvent.TypeSoftware),
        ("PERF_COUNT_SW_BPF_OUTPUT", (long)PerfEvent.CountSwBpfOutput),
        ("PERF_SAMPLE_TIME", (long)PerfEvent.SampleTime),
        ("PERF_SAMPLE_RAW", (long)PerfEvent.SampleRaw),
        ("PERF_FLAG_FD_CLOEXEC", (long)PerfEvent.FlagFdCloexec),
        ("PERF_EVENT_IOC_ENABLE", (long)PerfEvent.IocEnable),
        ("PERF_EVENT_IOC_DISABLE", (long)PerfEvent.IocDisable),
        ("PERF_EVENT_IOC_PAUSE_OUTPUT", (long)PerfEvent.IocPauseOutput),
        ("PERF_RECORD_LOST", PerfEvent.RecordLost),
        ("PERF_RECORD_SAMPLE", PerfEvent.RecordSample),
        ("PERF_ATTR_SIZE_VER7", PerfEvent.AttrSize),
        ("ATTR_FLAG(disabled)", (long)PerfEvent.FlagDisabled),
        ("ATTR_FLAG(watermark)", (long)PerfEvent.FlagWatermark),
    ];

    public static TheoryData<string> Constants()
    {
        var d = new TheoryData<string>();
        foreach (var c in s_constants)
        {
            d.Add(c.C);
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Constants))]
    public void Constants_match_the_headers(string name)
    {
        long expected = s_c.Value[$"const.{name}"];
        long actual = s_constants.Single(c => c.C == name).Value;
        Assert.True(expected == actual, $"{name}: C {expected}, C# {actual}");
    }

    private static readonly Lazy<Dictionary<string, long>> s_c = new(CompileAndRun);

    public static TheoryData<string> Structs()
    {
        var d = new TheoryData<string>();
        foreach (var s in s_structs)
        {
            d.Add(s.Cs.Name);
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Structs))]
    public void Field_offsets_match_the_kernel_header(string name)
    {
        var (cs, _, fields) = s_structs.Single(s => s.Cs.Name == name);
        var c = s_c.Value;
        foreach (string f in fields)
        {
            long expected = c[$"{name}.{f}"];
            long actual = Marshal.OffsetOf(cs, f).ToInt64();
            Assert.True(expected == actual, $"{name}.{f}: C offset {expected}, C# offset {actual}");
        }
    }

    [Theory]
    [MemberData(nameof(Structs))]
    public void Size_covers_the_kernel_struct(string name)
    {
        var (cs, _, _) = s_structs.Single(s => s.Cs.Name == name);
        long expected = s_c.Value[$"{name}.sizeof"];
        int actual = Marshal.SizeOf(cs);
        Assert.True(expected == actual, $"sizeof {name}: C {expected}, C# {actual}");
    }

    [Fact]
    public void Batch_attr_is_56_bytes() => Assert.Equal(56, Unsafe.SizeOf<MapBatchAttr>());

    private static Dictionary<string, long> CompileAndRun()
    {
        if (!File.Exists("/usr/include/linux/bpf.h"))
        {
            Assert.Skip("linux/bpf.h not installed (scripts/setup.sh installs linux-libc-dev)");
        }

        var src = new System.Text.StringBuilder("#define _GNU_SOURCE\n#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\n#include <sys/epoll.h>\n#include <sys/eventfd.h>\n#include <sys/mman.h>\n#include <sys/syscall.h>\n#include <string.h>\n#include <linux/perf_event.h>\n"
            // The word a perf_event_attr bitfield member lives in, with only that member set (it follows read_format).
            + "#define ATTR_FLAG(f) ({ struct perf_event_attr a_; memset(&a_, 0, sizeof a_); a_.f = 1; *(unsigned long long *)((char *)&a_ + offsetof(struct perf_event_attr, read_format) + 8); })\n"
            + "int main(void){\n");
        foreach (var (c, _) in s_constants)
        {
            src.Append($"printf(\"const.{c} %lld\\n\", (long long)({c}));\n");
        }

        foreach (var (cs, c, fields) in s_structs)
        {
            bool isType = c.StartsWith("struct ", StringComparison.Ordinal);
            // Offsets of members of an anonymous struct inside the union are relative to the union start,
            // which is also where that struct starts, so they equal offsets within the struct.
            foreach (string f in fields)
            {
                string member = isType ? $"offsetof({c}, {f})" : $"offsetof(union bpf_attr, {Prefix(cs)}{f})";
                src.Append($"printf(\"{cs.Name}.{f} %zu\\n\", (size_t){member});\n");
            }

            string size = isType ? $"sizeof({c})" : SizeExpr(cs);
            src.Append($"printf(\"{cs.Name}.sizeof %zu\\n\", (size_t)({size}));\n");
        }

        src.Append("return 0;}\n");
        string dir = Directory.CreateTempSubdirectory("bpfmaps-layout").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "l.c"), src.ToString());
            Run("gcc", $"-o {dir}/l {dir}/l.c", out _);
            Run($"{dir}/l", "", out string output);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(p => p[0], p => long.Parse(p[1]));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string Prefix(Type cs) => cs.Name switch
    {
        nameof(MapBatchAttr) => "batch.",
        nameof(TestRunAttr) => "test.",
        nameof(InfoByFdAttr) => "info.",
        _ => "",
    };

    // Anonymous structs of the union: their size is the offset after the last member, rounded to 8
    // (they are __aligned_u64-aligned); named ones (batch, test) use sizeof directly.
    private static string SizeExpr(Type cs)
    {
        return cs.Name switch
        {
            nameof(MapBatchAttr) => "sizeof(((union bpf_attr*)0)->batch)",
            nameof(TestRunAttr) => "sizeof(((union bpf_attr*)0)->test)",
            nameof(MapCreateAttr) => "(offsetof(union bpf_attr, map_extra) + 8 + 7) & ~7",
            nameof(MapElemAttr) => "(offsetof(union bpf_attr, flags) + 8 + 7) & ~7",
            nameof(ObjAttr) => "(offsetof(union bpf_attr, file_flags) + 4 + 7) & ~7",
            nameof(GetIdAttr) => "offsetof(union bpf_attr, open_flags) + 4",
            nameof(InfoByFdAttr) => "sizeof(((union bpf_attr*)0)->info)",
            nameof(ProgLoadAttr) => "(offsetof(union bpf_attr, core_relo_rec_size) + 4 + 7) & ~7",
            nameof(BtfLoadAttr) => "(offsetof(union bpf_attr, btf_log_level) + 4 + 7) & ~7",
            _ => throw new InvalidOperationException(cs.Name),
        };
    }

    private static void Run(string file, string args, out string stdout)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        stdout = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed: {err}");
    }
}
