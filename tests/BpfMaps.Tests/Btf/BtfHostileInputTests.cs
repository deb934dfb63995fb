using System.Buffers.Binary;
using BpfMaps.Btf;

namespace BpfMaps.Tests.Btf;

/// <summary>Malformed blobs give a <see cref="BtfException"/> that names where; nothing else escapes.</summary>
public sealed class BtfHostileInputTests
{
    private const int Hdr = 24;

    private static byte[] Sample(out uint structId, out uint typedefId)
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("u32", 4, isSigned: false);
        typedefId = b.AddTypedef("u32_t", u32);
        structId = b.AddStruct("pair", 8, ("a", typedefId, 0), ("b", u32, 4));
        return b.Build();
    }

    private static int TypeLen(byte[] blob) => (int)BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(12));

    private static BtfException Fails(byte[] blob, string expected)
    {
        var e = Assert.Throws<BtfException>(() => BtfSpec.Parse(blob));
        Assert.Contains(expected, e.Message);
        Assert.True(e.Offset is not null || e.TypeId is not null, $"no offset or type id in '{e.Message}'");
        return e;
    }

    [Fact]
    public void Wrong_magic_and_byte_order()
    {
        byte[] blob = Sample(out _, out _);
        blob[0] = 0xeb;
        blob[1] = 0x9f;
        Assert.Equal(0, Fails(blob, "big-endian").Offset);
        blob[0] = 0x7f;
        Fails(blob, "bad magic 0x9f7f");
        Fails([0x9f], "too few");
        byte[] version = Sample(out _, out _);
        version[2] = 2;
        Fails(version, "unsupported BTF version 2");
    }

    [Fact]
    public void Truncated_sections()
    {
        byte[] blob = Sample(out _, out _);
        Assert.Equal(16, Fails(blob[..^3], "string section").Offset);
        Fails(blob[..(Hdr + 20)], "type section");

        // A type section that ends inside a record.
        byte[] cut = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(cut.AsSpan(12), (uint)TypeLen(blob) - 4);
        Fails(cut, "needs");

        byte[] header = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 12);
        Assert.Equal(4, Fails(header, "header length 12").Offset);
    }

    [Fact]
    public void Out_of_range_type_ids_and_string_offsets()
    {
        byte[] blob = Sample(out uint structId, out _);

        // The struct's first member type -> 999.
        byte[] badType = (byte[])blob.Clone();
        int structRecord = Hdr + 16 + 12;
        BinaryPrimitives.WriteUInt32LittleEndian(badType.AsSpan(structRecord + 12 + 4), 999);
        Assert.Equal(structId, Fails(badType, "member 0's type is type id 999").TypeId);

        byte[] badName = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badName.AsSpan(Hdr), 100_000);
        Assert.Equal(1u, Fails(badName, "string offset 100000").TypeId);

        BtfSpec ok = BtfSpec.Parse(blob);
        Assert.Throws<BtfException>(() => ok.TypeById(4));
        Assert.Throws<BtfException>(() => ok.GetString(10_000));
    }

    [Fact]
    public void The_first_problem_in_record_order_is_reported()
    {
        // Records: [1] int at Hdr, [2] typedef at Hdr + 16, [3] struct at Hdr + 28. Type ids are checked
        // only once the type count is known, yet a bad one still comes before a later record's bad name.
        byte[] blob = Sample(out _, out uint typedefId);
        byte[] twoProblems = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(twoProblems.AsSpan(Hdr + 16 + 8), 999);
        BinaryPrimitives.WriteUInt32LittleEndian(twoProblems.AsSpan(Hdr + 28), 100_000);
        Assert.Equal(typedefId, Fails(twoProblems, "the type it refers to is type id 999").TypeId);

        byte[] nameFirst = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(nameFirst.AsSpan(Hdr + 16), 100_000);
        BinaryPrimitives.WriteUInt32LittleEndian(nameFirst.AsSpan(Hdr + 28 + 12 + 4), 999);
        Assert.Equal(typedefId, Fails(nameFirst, "its name is at string offset 100000").TypeId);

        // A record that does not fit makes the rest unreadable, so it wins over an earlier record's bad field.
        byte[] cutAfterBadName = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(cutAfterBadName.AsSpan(Hdr), 100_000);
        BinaryPrimitives.WriteUInt32LittleEndian(cutAfterBadName.AsSpan(12), (uint)TypeLen(blob) - 4);
        Assert.NotNull(Fails(cutAfterBadName, "needs").Offset);
    }

    [Fact]
    public void Modifier_cycles_are_found_not_followed_forever()
    {
        var b = new BtfBuilder();
        // typedef a -> const -> typedef a: ids 1 -> 2 -> 1.
        b.AddTypedef("a", 2);
        b.AddModifier(BtfKind.Const, "", 1);
        BtfSpec spec = BtfSpec.Parse(b.Build());
        Assert.Equal(1u, Assert.Throws<BtfException>(() => spec.ResolveModifiers(1)).TypeId);
        Assert.Throws<BtfException>(() => spec.SizeOf(1));
        Assert.Throws<BtfException>(() => spec.AlignOf(2));

        var self = new BtfBuilder();
        self.AddTypedef("me", 1);
        Fails(self.Build(), "refers to itself");

        // An array of arrays of ... of itself, through an array.
        var arrays = new BtfBuilder();
        uint i = arrays.AddInt("int", 4, isSigned: true);
        arrays.AddArray(3, i, 2);
        arrays.AddArray(2, i, 2);
        BtfSpec a = BtfSpec.Parse(arrays.Build());
        Assert.Throws<BtfException>(() => a.SizeOf(2));
    }

    [Fact]
    public void Huge_vlen_is_bounded_by_the_section()
    {
        byte[] blob = Sample(out _, out _);
        int structRecord = Hdr + 16 + 12;
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(structRecord + 4));
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(structRecord + 4), (info & 0xffff0000) | 0xffff);
        Fails(blob, "huge vlen");
    }

    [Fact]
    public void Sizes_that_overflow()
    {
        var b = new BtfBuilder();
        uint i = b.AddInt("long", 8, isSigned: true);
        uint big = b.AddArray(i, i, uint.MaxValue);
        uint bigger = b.AddArray(big, i, uint.MaxValue);
        BtfSpec spec = BtfSpec.Parse(b.Build());
        Assert.Equal(big, Assert.Throws<BtfException>(() => spec.SizeOf(big)).TypeId);
        Assert.Throws<BtfException>(() => spec.SizeOf(bigger));

        byte[] header = BtfBuilderBlob();
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), uint.MaxValue - 3);
        Fails(header, "runs past");
    }

    [Fact]
    public void Unknown_kinds_and_bad_ints()
    {
        byte[] blob = Sample(out _, out _);
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(Hdr + 4));
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(Hdr + 4), (info & 0x00ffffff) | (31u << 24));
        Fails(blob, "unknown kind 31");

        byte[] wide = Sample(out _, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(wide.AsSpan(Hdr + 8), 3);
        Fails(wide, "INT of 3 bytes");
    }

    private static byte[] BtfBuilderBlob()
    {
        var b = new BtfBuilder();
        b.AddInt("int", 4, isSigned: true);
        return b.Build();
    }
}
