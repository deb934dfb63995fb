using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace BpfMaps.Btf;

/// <summary>
/// Just enough of ELF to find one section of a 64-bit little-endian object (a BPF <c>.bpf.o</c>, a
/// vmlinux image) and read its bytes, as libbpf's <c>btf__parse</c> reads <c>.BTF</c>. It reads the
/// header, the section header table, the section name table and the one section, never the whole file.
/// </summary>
internal static class ElfSections
{
    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const uint ShtNoBits = 8;
    private const ulong ShfCompressed = 0x800;
    private const ushort ShnXIndex = 0xffff;

    /// <summary>Whether <paramref name="start"/> begins with the ELF magic, <c>\x7fELF</c>.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> start) => start.Length >= 4 && start[0] == 0x7f && start[1] == (byte)'E' && start[2] == (byte)'L' && start[3] == (byte)'F';

    /// <summary>Reads section <paramref name="name"/>, or returns null when the object has no such section.</summary>
    /// <param name="file">The open file.</param>
    /// <param name="name">The section name, such as <c>.BTF</c>.</param>
    /// <param name="sectionOffset">Where the section starts in the file.</param>
    /// <returns>The section's bytes, or null.</returns>
    /// <exception cref="BtfException">The ELF structure is malformed or not 64-bit little-endian; the message names the file offset.</exception>
    public static byte[]? ReadSection(SafeFileHandle file, string name, out long sectionOffset)
    {
        sectionOffset = 0;
        long fileLength = RandomAccess.GetLength(file);
        Span<byte> h = stackalloc byte[HeaderSize];
        if (fileLength < HeaderSize || RandomAccess.Read(file, h, 0) < HeaderSize)
        {
            throw Error(0, $"{fileLength} bytes are too few for a 64-bit ELF header");
        }

        if (h[4] != 2)
        {
            throw Error(4, h[4] == 1 ? "32-bit ELF objects are not supported (BPF objects are ELF64)" : $"unknown ELF class {h[4]}");
        }

        if (h[5] != 1)
        {
            throw Error(5, h[5] == 2 ? "big-endian ELF objects are not supported" : $"unknown ELF data encoding {h[5]}");
        }

        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(h[40..]);
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[58..]);
        ulong shnum = BinaryPrimitives.ReadUInt16LittleEndian(h[60..]);
        uint shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(h[62..]);
        if (shoff == 0)
        {
            throw Error(40, "the object has no section header table");
        }

        if (shentsize != SectionHeaderSize)
        {
            throw Error(58, $"section header size {shentsize} is not {SectionHeaderSize}");
        }

        // Extended numbering: with more sections than fit in 16 bits, section 0 holds the real counts.
        Span<byte> first = stackalloc byte[SectionHeaderSize];
        ReadExactly(file, first, shoff, fileLength, "section header 0");
        if (shnum == 0)
        {
            shnum = BinaryPrimitives.ReadUInt64LittleEndian(first[32..]);
        }

        if (shstrndx == ShnXIndex)
        {
            shstrndx = BinaryPrimitives.ReadUInt32LittleEndian(first[40..]);
        }

        if (shnum > (ulong)(fileLength / SectionHeaderSize) || shoff + (shnum * SectionHeaderSize) > (ulong)fileLength)
        {
            throw Error(40, $"section header table of {shnum} entries at offset {shoff} runs past the file's {fileLength} bytes (truncated?)");
        }

        if (shstrndx >= shnum)
        {
            throw Error(62, $"section name table index {shstrndx} is not below the section count {shnum}");
        }

        byte[] table = new byte[(int)shnum * SectionHeaderSize];
        ReadExactly(file, table, shoff, fileLength, "the section header table");
        byte[] names = ReadBody(file, table, (int)shstrndx, shoff, fileLength, "the section name table");

        byte[] wanted = Encoding.UTF8.GetBytes(name);
        for (int i = 0; i < (int)shnum; i++)
        {
            ReadOnlySpan<byte> sh = table.AsSpan(i * SectionHeaderSize, SectionHeaderSize);
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(sh);
            if (nameOff >= (uint)names.Length)
            {
                throw Error((long)shoff + (i * SectionHeaderSize), $"section {i}'s name offset {nameOff} is outside the section name table ({names.Length} bytes)");
            }

            ReadOnlySpan<byte> rest = names.AsSpan((int)nameOff);
            int nul = rest.IndexOf((byte)0);
            if (!(nul < 0 ? rest : rest[..nul]).SequenceEqual(wanted))
            {
                continue;
            }

            if ((BinaryPrimitives.ReadUInt64LittleEndian(sh[8..]) & ShfCompressed) != 0)
            {
                throw Error((long)shoff + (i * SectionHeaderSize) + 8, $"section {name} is compressed (SHF_COMPRESSED), which is not supported");
            }

            sectionOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[24..]);
            return ReadBody(file, table, i, shoff, fileLength, $"section {name}");
        }

        return null;
    }

    private static byte[] ReadBody(SafeFileHandle file, byte[] table, int index, ulong shoff, long fileLength, string what)
    {
        ReadOnlySpan<byte> sh = table.AsSpan(index * SectionHeaderSize, SectionHeaderSize);
        long at = (long)shoff + (index * SectionHeaderSize);
        if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) == ShtNoBits)
        {
            throw Error(at + 4, $"{what} has no bytes in the file (SHT_NOBITS)");
        }

        ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(sh[24..]);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(sh[32..]);
        if (offset > (ulong)fileLength || size > (ulong)fileLength - offset)
        {
            throw Error(at + 24, $"{what} [{offset}, {offset + size}) runs past the file's {fileLength} bytes (truncated?)");
        }

        if (size > int.MaxValue)
        {
            throw Error(at + 32, $"{what} of {size} bytes is too large");
        }

        byte[] body = new byte[(int)size];
        ReadExactly(file, body, offset, fileLength, what);
        return body;
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> buffer, ulong offset, long fileLength, string what)
    {
        if (offset > (ulong)fileLength || (ulong)buffer.Length > (ulong)fileLength - offset)
        {
            throw Error((long)Math.Min(offset, (ulong)fileLength), $"{what} [{offset}, {offset + (ulong)buffer.Length}) runs past the file's {fileLength} bytes (truncated?)");
        }

        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(file, buffer[done..], (long)offset + done);
            if (n == 0)
            {
                throw Error((long)offset + done, $"the file ended while reading {what}");
            }

            done += n;
        }
    }

    private static BtfException Error(long offset, string what) => new($"ELF: {what} (at file offset {offset})") { Offset = offset };
}
