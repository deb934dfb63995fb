using System.Runtime.InteropServices;

namespace BpfMaps.Interop;

// One struct per command family of `union bpf_attr` (include/uapi/linux/bpf.h).
// Layouts are checked against the C header by tests/BpfMaps.Tests/Interop/LayoutTests.
#pragma warning disable CA1051, CA1815 // plain interop structs

/// <summary>BPF_MAP_CREATE.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MapCreateAttr
{
    public uint map_type;
    public uint key_size;
    public uint value_size;
    public uint max_entries;
    public uint map_flags;
    public uint inner_map_fd;
    public uint numa_node;
    public fixed byte map_name[16];
    public uint map_ifindex;
    public uint btf_fd;
    public uint btf_key_type_id;
    public uint btf_value_type_id;
    public uint btf_vmlinux_value_type_id;
    public ulong map_extra;
}

/// <summary>BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint map_fd;
    [FieldOffset(8)] public ulong key;
    /// <summary>Shares its slot with <c>next_key</c>.</summary>
    [FieldOffset(16)] public ulong value;
    [FieldOffset(16)] public ulong next_key;
    [FieldOffset(24)] public ulong flags;
}

/// <summary>The four BPF_MAP_*_BATCH commands.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MapBatchAttr
{
    public ulong in_batch;
    public ulong out_batch;
    public ulong keys;
    public ulong values;
    public uint count;
    public uint map_fd;
    public ulong elem_flags;
    public ulong flags;
}

/// <summary>BPF_OBJ_PIN, BPF_OBJ_GET.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ObjAttr
{
    public ulong pathname;
    public uint bpf_fd;
    public uint file_flags;
}

/// <summary>BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GetIdAttr
{
    /// <summary>start_id / map_id / prog_id share this slot.</summary>
    public uint start_id;
    public uint next_id;
    public uint open_flags;
}

/// <summary>BPF_OBJ_GET_INFO_BY_FD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InfoByFdAttr
{
    public uint bpf_fd;
    public uint info_len;
    public ulong info;
}

/// <summary><c>struct bpf_map_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfMapInfoNative
{
    public uint type;
    public uint id;
    public uint key_size;
    public uint value_size;
    public uint max_entries;
    public uint map_flags;
    public fixed byte name[16];
    public uint ifindex;
    public uint btf_vmlinux_value_type_id;
    public ulong netns_dev;
    public ulong netns_ino;
    public uint btf_id;
    public uint btf_key_type_id;
    public uint btf_value_type_id;
    private readonly uint _pad;
    public ulong map_extra;
}

/// <summary><c>struct bpf_prog_info</c> (BPF_OBJ_GET_INFO_BY_FD on a program); every pointer left 0 asks for counts only.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfProgInfoNative
{
    public uint type;
    public uint id;
    public fixed byte tag[8];
    public uint jited_prog_len;
    public uint xlated_prog_len;
    public ulong jited_prog_insns;
    public ulong xlated_prog_insns;
    public ulong load_time;
    public uint created_by_uid;
    public uint nr_map_ids;
    public ulong map_ids;
    public fixed byte name[16];
    public uint ifindex;
    /// <summary>Bit 0: <c>gpl_compatible</c>; the other 31 bits pad.</summary>
    public uint gpl_compatible;
    public ulong netns_dev;
    public ulong netns_ino;
    public uint nr_jited_ksyms;
    public uint nr_jited_func_lens;
    public ulong jited_ksyms;
    public ulong jited_func_lens;
    public uint btf_id;
    public uint func_info_rec_size;
    public ulong func_info;
    public uint nr_func_info;
    public uint nr_line_info;
    public ulong line_info;
    public ulong jited_line_info;
    public uint nr_jited_line_info;
    public uint line_info_rec_size;
    public uint jited_line_info_rec_size;
    public uint nr_prog_tags;
    public ulong prog_tags;
    public ulong run_time_ns;
    public ulong run_cnt;
    public ulong recursion_misses;
    public uint verified_insns;
    public uint attach_btf_obj_id;
    public uint attach_btf_id;
    private readonly uint _pad;
}

/// <summary>BPF_PROG_LOAD (up to and including <c>core_relo_rec_size</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ProgLoadAttr
{
    public uint prog_type;
    public uint insn_cnt;
    public ulong insns;
    public ulong license;
    public uint log_level;
    public uint log_size;
    public ulong log_buf;
    public uint kern_version;
    public uint prog_flags;
    public fixed byte prog_name[16];
    public uint prog_ifindex;
    public uint expected_attach_type;
    public uint prog_btf_fd;
    public uint func_info_rec_size;
    public ulong func_info;
    public uint func_info_cnt;
    public uint line_info_rec_size;
    public ulong line_info;
    public uint line_info_cnt;
    public uint attach_btf_id;
    public uint attach_prog_fd;
    public uint core_relo_cnt;
    public ulong fd_array;
    public ulong core_relos;
    public uint core_relo_rec_size;
    private readonly uint _pad;
}

/// <summary>BPF_PROG_TEST_RUN.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TestRunAttr
{
    public uint prog_fd;
    public uint retval;
    public uint data_size_in;
    public uint data_size_out;
    public ulong data_in;
    public ulong data_out;
    public uint repeat;
    public uint duration;
    public uint ctx_size_in;
    public uint ctx_size_out;
    public ulong ctx_in;
    public ulong ctx_out;
    public uint flags;
    public uint cpu;
    public uint batch_size;
    private readonly uint _pad;
}

/// <summary>BPF_BTF_LOAD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BtfLoadAttr
{
    public ulong btf;
    public ulong btf_log_buf;
    public uint btf_size;
    public uint btf_log_size;
    public uint btf_log_level;
    /// <summary>Output on 6.5+ kernels (<c>btf_log_true_size</c>); padding before.</summary>
    public uint btf_log_true_size;
}

/// <summary><c>struct bpf_btf_info</c> (BPF_OBJ_GET_INFO_BY_FD on a BTF object).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BpfBtfInfoNative
{
    public ulong btf;
    public uint btf_size;
    public uint id;
    public ulong name;
    public uint name_len;
    public uint kernel_btf;
}
