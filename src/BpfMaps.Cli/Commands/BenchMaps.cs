using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using BpfMaps.Btf;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// The maps <c>bench</c> dumps, created and filled with BPF_MAP_UPDATE_BATCH: a hash of u32 keys and u64
/// values, and a hash of flows whose 16-byte key and 40-byte value are structs described by BTF.
/// </summary>
internal static class BenchMaps
{
    /// <summary>Bytes of <c>struct flow_key</c>.</summary>
    public const int FlowKeySize = 16;

    /// <summary>Bytes of <c>struct flow_stats</c>.</summary>
    public const int FlowStatsSize = 40;

    private const int Chunk = 65536;

    // Process names for flow_stats.comm: short and long, an empty one, and one that fills all 16 bytes
    // with no NUL, which bpftool prints as an array of characters rather than a string.
    private static readonly byte[][] Comms =
    [
        .. new[]
        {
            "nginx", "sshd", "curl", "systemd-resolve", "chrome", "python3", "node", "postgres", "redis-server",
            "kworker/u8:2", "", "java", "envoy", "coredns", "dockerd", "containerd-shim-",
        }.Select(Encoding.ASCII.GetBytes),
    ];

    private static readonly ushort[] Ports = [443, 80, 53, 22, 8080, 5432, 6379, 3306];

    private static readonly byte[] Protocols = [6, 6, 6, 17, 17, 1];

    private static readonly int[] Errors = [0, 0, 0, 0, 0, -11, -104, -110];

    /// <summary>Creates a hash of <paramref name="n"/> entries, u32 key i, u64 value 3i.</summary>
    /// <param name="n">Entries.</param>
    /// <returns>The map.</returns>
    public static BpfMap CreateU64(int n)
    {
        BpfMap map = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = n, Name = "bpfmap_bench" });
        try
        {
            FillU64(map, n);
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Fills keys 0..n-1 with value key*3 using BPF_MAP_UPDATE_BATCH.</summary>
    /// <param name="map">The map.</param>
    /// <param name="n">Entries.</param>
    public static void FillU64(BpfMap map, int n)
    {
        var keys = new uint[Chunk];
        var values = new ulong[Chunk];
        for (int start = 0; start < n; start += Chunk)
        {
            int c = Math.Min(Chunk, n - start);
            for (int i = 0; i < c; i++)
            {
                keys[i] = (uint)(start + i);
                values[i] = (ulong)(start + i) * 3;
            }

            map.UpdateBatch(MemoryMarshal.AsBytes(keys.AsSpan(0, c)), MemoryMarshal.AsBytes(values.AsSpan(0, c)), c);
        }
    }

    /// <summary>
    /// Creates a hash of <paramref name="n"/> flows, with BTF for its key and value:
    /// <c>struct flow_key { __u32 saddr, daddr; __u16 sport, dport; __u8 proto; __u8 pad[3]; }</c> and
    /// <c>struct flow_stats { char comm[16]; __u64 packets, bytes; __u32 flags; __s32 last_err; }</c>.
    /// </summary>
    /// <param name="n">Entries.</param>
    /// <returns>The map.</returns>
    public static BpfMap CreateFlows(int n)
    {
        var b = new BtfBuilder();
        uint u8 = b.AddTypedef("__u8", b.AddInt("unsigned char", 1, isSigned: false));
        uint u16 = b.AddTypedef("__u16", b.AddInt("unsigned short", 2, isSigned: false));
        uint uint32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint u32 = b.AddTypedef("__u32", uint32);
        uint u64 = b.AddTypedef("__u64", b.AddInt("unsigned long long", 8, isSigned: false));
        uint s32 = b.AddTypedef("__s32", b.AddInt("int", 4, isSigned: true));
        uint chr = b.AddInt("char", 1, isSigned: true);
        uint key = b.AddStruct("flow_key", FlowKeySize, ("saddr", u32, 0), ("daddr", u32, 4), ("sport", u16, 8), ("dport", u16, 10), ("proto", u8, 12), ("pad", b.AddArray(u8, uint32, 3), 13));
        uint value = b.AddStruct("flow_stats", FlowStatsSize, ("comm", b.AddArray(chr, uint32, 16), 0), ("packets", u64, 16), ("bytes", u64, 24), ("flags", u32, 32), ("last_err", s32, 36));
        using BtfObject btf = BtfObject.Load(b.Build());
        BpfMap map = BpfMap.Create(new MapSpec
        {
            Type = MapType.Hash,
            KeySize = FlowKeySize,
            ValueSize = FlowStatsSize,
            MaxEntries = n,
            Name = "bpfmap_bench_bt",
            Btf = btf,
            BtfKeyTypeId = key,
            BtfValueTypeId = value,
        });
        try
        {
            FillFlows(map, n);
            return map;
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Writes flow <paramref name="i"/>'s key and value; saddr is 10.0.0.0 + i, so keys are distinct.</summary>
    /// <param name="i">The flow's number.</param>
    /// <param name="key">16 bytes.</param>
    /// <param name="value">40 bytes.</param>
    public static void Flow(int i, Span<byte> key, Span<byte> value)
    {
        uint h = (uint)i * 0x9E3779B1u;
        h ^= h >> 15;
        BinaryPrimitives.WriteUInt32LittleEndian(key, 0x0A000000u + (uint)i);
        BinaryPrimitives.WriteUInt32LittleEndian(key[4..], 0xC0A80000u | (h & 0xffff));
        BinaryPrimitives.WriteUInt16LittleEndian(key[8..], (ushort)(1024 + (h % 60000)));
        BinaryPrimitives.WriteUInt16LittleEndian(key[10..], Ports[(h >> 8) % Ports.Length]);
        key[12] = Protocols[(h >> 12) % Protocols.Length];
        key[13..16].Clear();

        value[..16].Clear();
        Comms[(h >> 4) % Comms.Length].CopyTo(value);
        ulong packets = 1 + (h % 1_000_000);
        BinaryPrimitives.WriteUInt64LittleEndian(value[16..], packets);
        BinaryPrimitives.WriteUInt64LittleEndian(value[24..], packets * (64 + ((h >> 3) % 1400)));
        BinaryPrimitives.WriteUInt32LittleEndian(value[32..], (h >> 20) & 0x1f);
        BinaryPrimitives.WriteInt32LittleEndian(value[36..], Errors[(h >> 24) % Errors.Length]);
    }

    private static void FillFlows(BpfMap map, int n)
    {
        byte[] keys = new byte[Chunk * FlowKeySize];
        byte[] values = new byte[Chunk * FlowStatsSize];
        for (int start = 0; start < n; start += Chunk)
        {
            int c = Math.Min(Chunk, n - start);
            for (int i = 0; i < c; i++)
            {
                Flow(start + i, keys.AsSpan(i * FlowKeySize, FlowKeySize), values.AsSpan(i * FlowStatsSize, FlowStatsSize));
            }

            map.UpdateBatch(keys.AsSpan(0, c * FlowKeySize), values.AsSpan(0, c * FlowStatsSize), c);
        }
    }
}
