using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using BpfMaps.Btf;

namespace BpfMaps.Benchmarks.Core;

/// <summary>
/// Formatting map entries by their BTF, as <c>bpfmap -j dump</c> and plain <c>dump</c> do: 100,000 flow
/// entries (key <c>struct flow_key</c>, 16 bytes; value <c>struct flow_stats</c>, 40 bytes, with a char
/// array that prints as a string) through <see cref="BtfEntryFormatter"/> into a reused buffer, with the
/// compact JSON sink and with the plain text sink. One invocation formats every entry, so the Allocated
/// column is the total for 100,000 entries: it must be 0 (shown as "-").
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class BtfFormatBenchmarks
{
    private const int Entries = 100_000;
    private const int KeySize = 16;
    private const int ValueSize = 40;
    private BtfEntryFormatter _formatter = null!;
    private byte[] _keys = null!;
    private byte[] _values = null!;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);

    [GlobalSetup]
    public void Setup()
    {
        var b = new BtfBuilder();
        uint u8 = b.AddTypedef("__u8", b.AddInt("unsigned char", 1, isSigned: false));
        uint u16 = b.AddTypedef("__u16", b.AddInt("unsigned short", 2, isSigned: false));
        uint uint32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint u32 = b.AddTypedef("__u32", uint32);
        uint u64 = b.AddTypedef("__u64", b.AddInt("unsigned long long", 8, isSigned: false));
        uint s32 = b.AddTypedef("__s32", b.AddInt("int", 4, isSigned: true));
        uint chr = b.AddInt("char", 1, isSigned: true);
        uint key = b.AddStruct("flow_key", KeySize, ("saddr", u32, 0), ("daddr", u32, 4), ("sport", u16, 8), ("dport", u16, 10), ("proto", u8, 12), ("pad", b.AddArray(u8, uint32, 3), 13));
        uint value = b.AddStruct("flow_stats", ValueSize, ("comm", b.AddArray(chr, uint32, 16), 0), ("packets", u64, 16), ("bytes", u64, 24), ("flags", u32, 32), ("last_err", s32, 36));
        BtfSpec spec = BtfSpec.Parse(b.Build());
        _formatter = new BtfEntryFormatter(BtfFormatter.Compile(spec, key), BtfFormatter.Compile(spec, value));

        string[] comms = ["nginx", "sshd", "curl", "systemd-resolve", "chrome", "python3", "kworker/u8:2", ""];
        _keys = new byte[Entries * KeySize];
        _values = new byte[Entries * ValueSize];
        for (int i = 0; i < Entries; i++)
        {
            Span<byte> k = _keys.AsSpan(i * KeySize, KeySize);
            Span<byte> v = _values.AsSpan(i * ValueSize, ValueSize);
            uint h = (uint)i * 0x9E3779B1u;
            BinaryPrimitives.WriteUInt32LittleEndian(k, 0x0A000000u + (uint)i);
            BinaryPrimitives.WriteUInt32LittleEndian(k[4..], 0xC0A80000u | (h & 0xffff));
            BinaryPrimitives.WriteUInt16LittleEndian(k[8..], (ushort)(1024 + (h % 60000)));
            BinaryPrimitives.WriteUInt16LittleEndian(k[10..], 443);
            k[12] = 6;
            Encoding.ASCII.GetBytes(comms[(h >> 4) % comms.Length], v);
            BinaryPrimitives.WriteUInt64LittleEndian(v[16..], 1 + (h % 1_000_000));
            BinaryPrimitives.WriteUInt64LittleEndian(v[24..], (1 + (h % 1_000_000)) * 700);
            BinaryPrimitives.WriteUInt32LittleEndian(v[32..], h >> 27);
            BinaryPrimitives.WriteInt32LittleEndian(v[36..], (h & 7) == 0 ? -11 : 0);
        }
    }

    /// <summary>The <c>formatted</c> object of <c>bpftool -j</c>, for every entry.</summary>
    [Benchmark(Baseline = true)]
    public int Json()
    {
        int total = 0;
        for (int i = 0; i < Entries; i++)
        {
            _buffer.ResetWrittenCount();
            var sink = new BtfJsonSink(_buffer);
            _formatter.Write(ref sink, _keys.AsSpan(i * KeySize, KeySize), _values.AsSpan(i * ValueSize, ValueSize));
            total += _buffer.WrittenCount;
        }

        return total;
    }

    /// <summary>bpftool's plain BTF text, for every entry.</summary>
    [Benchmark]
    public int Text()
    {
        int total = 0;
        for (int i = 0; i < Entries; i++)
        {
            _buffer.ResetWrittenCount();
            var sink = new BtfTextSink(_buffer);
            _formatter.Write(ref sink, _keys.AsSpan(i * KeySize, KeySize), _values.AsSpan(i * ValueSize, ValueSize));
            total += _buffer.WrittenCount;
        }

        return total;
    }
}
