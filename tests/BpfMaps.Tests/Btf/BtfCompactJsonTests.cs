using System.Buffers;
using System.Text;
using BpfMaps.Btf;

namespace BpfMaps.Tests.Btf;

/// <summary>
/// <see cref="BtfJsonSink"/> takes a fast path: literal runs laid out once per type, integers written in
/// place. Its output must be the walk's, byte for byte: the same sink, reached through a wrapper that the
/// fast path does not recognise, over synthetic types of every shape and a sample of vmlinux's structs,
/// with random bytes (half of them printable, so char arrays print as strings too).
/// </summary>
public sealed class BtfCompactJsonTests
{
    [Fact]
    public void Every_shape_prints_as_the_walk_does()
    {
        var b = new BtfBuilder();
        uint u8 = b.AddInt("unsigned char", 1, isSigned: false);
        uint s8 = b.AddInt("signed char", 1, isSigned: true);
        uint u16 = b.AddInt("unsigned short", 2, isSigned: false);
        uint s16 = b.AddInt("short", 2, isSigned: true);
        uint u32 = b.AddInt("unsigned int", 4, isSigned: false);
        uint s32 = b.AddInt("int", 4, isSigned: true);
        uint u64 = b.AddInt("unsigned long long", 8, isSigned: false);
        uint s64 = b.AddInt("long long", 8, isSigned: true);
        uint chr = b.AddInt("char", 1, isSigned: true);
        uint boolean = b.AddInt("_Bool", 1, isSigned: false, BtfIntEncoding.Bool);
        uint i128 = b.AddInt("__int128", 16, isSigned: true);
        uint dbl = b.AddFloat("double", 8);
        uint flt = b.AddFloat("float", 4);
        uint ptr = b.AddPointer(u32);
        uint color = b.AddEnum("color", 4, isSigned: false, ("RED", 0), ("GREEN", 1), ("BLUE", 7));
        uint big = b.AddEnum64("big", 8, isSigned: false, ("HUGE", ulong.MaxValue - 1));
        uint typedef = b.AddTypedef("u32_t", u32);
        uint cnst = b.AddModifier(BtfKind.Const, "", typedef);
        uint comm = b.AddArray(chr, u32, 16);
        uint small = b.AddArray(u16, u32, 3);
        uint large = b.AddArray(u8, u32, 600);
        uint grid = b.AddArray(b.AddArray(s8, u32, 4), u32, 3);
        uint pair = b.AddStruct("pair", 8, ("a", s32, 0), ("b", cnst, 4));
        uint pairs = b.AddArray(pair, u32, 4);
        uint bits = b.AddComposite(BtfKind.Struct, "bits", 4, [new("x", u32, 0, 3), new("y", u32, 3, 7), new("", u32, 10, 22)]);
        uint inner = b.AddComposite(BtfKind.Union, "", 8, [new("raw", u64, 0), new("half", u32, 0)]);
        uint all = b.AddStruct("all", 800,
            ("u8", u8, 0), ("s8", s8, 1), ("u16", u16, 2), ("s16", s16, 4), ("u32", u32, 8), ("s32", s32, 12),
            ("u64", u64, 16), ("s64", s64, 24), ("c", chr, 32), ("ok", boolean, 33), ("wide", i128, 48), ("d", dbl, 64),
            ("f", flt, 72), ("p", ptr, 80), ("color", color, 88), ("big", big, 96), ("t", typedef, 104), ("comm", comm, 108),
            ("small", small, 124), ("grid", grid, 130), ("pairs", pairs, 144), ("bits", bits, 176), ("", inner, 184), ("quoted\"name", u8, 192),
            ("large", large, 193));
        BtfSpec spec = BtfSpec.Parse(b.Build());
        var rng = new Random(3);
        foreach (uint id in new[] { all, pair, pairs, grid, comm, large, u64, s8, color, bits })
        {
            BtfFormatter f = BtfFormatter.Compile(spec, id);
            for (int i = 0; i < 300; i++)
            {
                AssertSameAsWalk(f, RandomBytes(rng, f.Size));
            }
        }
    }

    [Fact]
    public void Vmlinux_structs_print_as_the_walk_does()
    {
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
        {
            Assert.Skip("no /sys/kernel/btf/vmlinux");
        }

        BtfSpec spec = BtfSpec.LoadVmlinux();
        var rng = new Random(4);
        int tried = 0;
        foreach (BtfType t in spec.Types().Where(t => t.Kind is BtfKind.Struct or BtfKind.Union && t.Size is > 0 and <= 4096))
        {
            if (rng.Next(8) != 0)
            {
                continue;
            }

            BtfFormatter f;
            try
            {
                f = BtfFormatter.Compile(spec, t.Id);
            }
            catch (BtfException)
            {
                continue;
            }

            AssertSameAsWalk(f, RandomBytes(rng, f.Size));
            tried++;
        }

        Assert.True(tried > 500, $"only {tried} vmlinux types were compared");
    }

    private static byte[] RandomBytes(Random rng, int size)
    {
        byte[] data = new byte[size];
        rng.NextBytes(data);
        if (rng.Next(2) == 0)
        {
            // Printable, with NULs here and there: char arrays become strings.
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = rng.Next(6) == 0 ? (byte)0 : (byte)(0x20 + (data[i] % 0x5f));
            }
        }

        return data;
    }

    private static void AssertSameAsWalk(BtfFormatter f, byte[] data)
    {
        var fast = new ArrayBufferWriter<byte>();
        var sink = new BtfJsonSink(fast);
        sink.StartArray();
        f.Write(ref sink, data);
        f.Write(ref sink, data);
        sink.EndArray();

        var walked = new ArrayBufferWriter<byte>();
        var wrapper = new Walked(new BtfJsonSink(walked));
        wrapper.StartArray();
        f.Write(ref wrapper, data);
        f.Write(ref wrapper, data);
        wrapper.EndArray();
        Assert.Equal(Encoding.UTF8.GetString(walked.WrittenSpan), Encoding.UTF8.GetString(fast.WrittenSpan));
    }

    /// <summary>The JSON sink under another type: the formatter walks it.</summary>
    private struct Walked(BtfJsonSink inner) : IBtfValueSink
    {
        private BtfJsonSink _inner = inner;

        public void StartObject() => _inner.StartObject();

        public void EndObject() => _inner.EndObject();

        public void StartArray() => _inner.StartArray();

        public void EndArray() => _inner.EndArray();

        public void WriteName(BtfName name) => _inner.WriteName(name);

        public void WriteUnsigned(ulong value) => _inner.WriteUnsigned(value);

        public void WriteSigned(long value) => _inner.WriteSigned(value);

        public void WriteBoolean(bool value) => _inner.WriteBoolean(value);

        public void WriteFloat(double value, bool fromFloat32) => _inner.WriteFloat(value, fromFloat32);

        public void WriteHex(UInt128 value) => _inner.WriteHex(value);

        public void WriteString(ReadOnlySpan<byte> ascii) => _inner.WriteString(ascii);

        public void WriteEnumName(BtfName name) => _inner.WriteEnumName(name);

        public void WritePointer(ulong value) => _inner.WritePointer(value);

        public void WriteChar(byte value) => _inner.WriteChar(value);

        public void WriteMarker(string marker) => _inner.WriteMarker(marker);
    }
}
