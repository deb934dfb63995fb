using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

#pragma warning disable CA1051, CA1815 // plain interop structs

/// <summary>
/// perf_event_open and the perf event ioctls: the per-CPU events behind a BPF_MAP_TYPE_PERF_EVENT_ARRAY
/// (include/uapi/linux/perf_event.h). Layouts and constants are checked against the C header by
/// tests/BpfMaps.Tests/Interop/LayoutTests.
/// </summary>
internal static unsafe partial class PerfEvent
{
    /// <summary>
    /// The <c>perf_event_open</c> syscall number; glibc has no wrapper. -1 where the architecture is not known.
    /// </summary>
    internal static readonly long SysPerfEventOpen = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 298,
        Architecture.Arm64 => 241,
        Architecture.X86 => 336,
        Architecture.Arm => 364,
        Architecture.RiscV64 => 241,
        Architecture.LoongArch64 => 241,
        _ => -1,
    };

    /// <summary>PERF_TYPE_SOFTWARE.</summary>
    public const uint TypeSoftware = 1;

    /// <summary>PERF_COUNT_SW_BPF_OUTPUT (Linux 4.4): the event bpf_perf_event_output writes to.</summary>
    public const ulong CountSwBpfOutput = 10;

    /// <summary>PERF_SAMPLE_TIME: a u64 timestamp (the perf clock, local_clock by default) in each sample.</summary>
    public const ulong SampleTime = 1u << 2;

    /// <summary>PERF_SAMPLE_RAW: a u32 size and that many bytes of raw data in each sample.</summary>
    public const ulong SampleRaw = 1u << 10;

    /// <summary>The <c>disabled</c> bit of the attr flags: the event starts off.</summary>
    public const ulong FlagDisabled = 1ul << 0;

    /// <summary>The <c>watermark</c> bit of the attr flags: wake up on <c>wakeup_watermark</c> bytes instead of <c>wakeup_events</c> samples.</summary>
    public const ulong FlagWatermark = 1ul << 14;

    /// <summary>PERF_FLAG_FD_CLOEXEC.</summary>
    public const ulong FlagFdCloexec = 1ul << 3;

    /// <summary>PERF_EVENT_IOC_ENABLE.</summary>
    public const ulong IocEnable = 0x2400;

    /// <summary>PERF_EVENT_IOC_DISABLE.</summary>
    public const ulong IocDisable = 0x2401;

    /// <summary>PERF_EVENT_IOC_PAUSE_OUTPUT (Linux 4.7): 1 pauses the ring (samples are dropped and counted lost), 0 resumes.</summary>
    public const ulong IocPauseOutput = 0x40042409;

    /// <summary>PERF_RECORD_LOST: <c>{ header; u64 id; u64 lost; }</c> (public as <see cref="Events.PerfLost.RecordType"/>).</summary>
    public const uint RecordLost = Events.PerfLost.RecordType;

    /// <summary>PERF_RECORD_SAMPLE (public as <see cref="Events.PerfSample.RecordType"/>).</summary>
    public const uint RecordSample = Events.PerfSample.RecordType;

    /// <summary>PERF_ATTR_SIZE_VER7: the attr size this library passes (every field it sets is in VER0).</summary>
    public const int AttrSize = 128;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallPerfEventOpen(long number, PerfEventAttr* attr, int pid, int cpu, int groupFd, ulong flags);

    /// <summary>perf_event_open(attr, pid, cpu, group_fd, flags): a descriptor, or -1 with errno set.</summary>
    public static int Open(PerfEventAttr* attr, int pid, int cpu, int groupFd, ulong flags)
        => (int)SyscallPerfEventOpen(SysPerfEventOpen, attr, pid, cpu, groupFd, flags);

    /// <summary>ioctl(fd, request, arg): 0 (or a request's value), or -1 with errno set.</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, ulong arg);
}

/// <summary><c>struct perf_event_attr</c> up to PERF_ATTR_SIZE_VER7 (128 bytes); the bitfield word is <c>flags</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = PerfEvent.AttrSize)]
internal struct PerfEventAttr
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(4)] public uint size;
    [FieldOffset(8)] public ulong config;
    [FieldOffset(16)] public ulong sample_period;
    [FieldOffset(16)] public ulong sample_freq;
    [FieldOffset(24)] public ulong sample_type;
    [FieldOffset(32)] public ulong read_format;
    /// <summary>The bitfield word after read_format: disabled (bit 0), ..., watermark (bit 14), ...</summary>
    [FieldOffset(40)] public ulong flags;
    [FieldOffset(48)] public uint wakeup_events;
    [FieldOffset(48)] public uint wakeup_watermark;
    [FieldOffset(52)] public uint bp_type;
    [FieldOffset(56)] public ulong config1;
    [FieldOffset(64)] public ulong config2;
    [FieldOffset(72)] public ulong branch_sample_type;
    [FieldOffset(80)] public ulong sample_regs_user;
    [FieldOffset(88)] public uint sample_stack_user;
    [FieldOffset(92)] public int clockid;
    [FieldOffset(96)] public ulong sample_regs_intr;
    [FieldOffset(104)] public uint aux_watermark;
    [FieldOffset(108)] public ushort sample_max_stack;
    [FieldOffset(112)] public uint aux_sample_size;
    [FieldOffset(120)] public ulong sig_data;
}

/// <summary>
/// <c>struct perf_event_mmap_page</c>, the first page of a perf event's mapping. Only the ring's fields are read
/// here (<c>data_head</c>, <c>data_tail</c>, <c>data_offset</c>, <c>data_size</c>); the rest is declared so that the
/// size and offsets can be checked against the header.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 1088)]
internal struct PerfEventMmapPage
{
    [FieldOffset(0)] public uint version;
    [FieldOffset(4)] public uint compat_version;
    [FieldOffset(8)] public uint @lock;
    [FieldOffset(12)] public uint index;
    [FieldOffset(16)] public long offset;
    [FieldOffset(24)] public ulong time_enabled;
    [FieldOffset(32)] public ulong time_running;
    [FieldOffset(40)] public ulong capabilities;
    [FieldOffset(48)] public ushort pmc_width;
    [FieldOffset(50)] public ushort time_shift;
    [FieldOffset(52)] public uint time_mult;
    [FieldOffset(56)] public ulong time_offset;
    [FieldOffset(64)] public ulong time_zero;
    [FieldOffset(72)] public uint size;
    [FieldOffset(80)] public ulong time_cycles;
    [FieldOffset(88)] public ulong time_mask;
    /// <summary>Written by the kernel after the records up to it (read with acquire).</summary>
    [FieldOffset(1024)] public ulong data_head;
    /// <summary>Written by the consumer after it is done with the records up to it (with release).</summary>
    [FieldOffset(1032)] public ulong data_tail;
    [FieldOffset(1040)] public ulong data_offset;
    [FieldOffset(1048)] public ulong data_size;
    [FieldOffset(1056)] public ulong aux_head;
    [FieldOffset(1064)] public ulong aux_tail;
    [FieldOffset(1072)] public ulong aux_offset;
    [FieldOffset(1080)] public ulong aux_size;
}

/// <summary><c>struct perf_event_header</c>: every record in the ring starts with one.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PerfEventHeader
{
    public uint type;
    public ushort misc;
    public ushort size;
}
