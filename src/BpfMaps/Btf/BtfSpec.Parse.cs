using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace BpfMaps.Btf;

public sealed partial class BtfSpec
{
    private static BtfSpec ParseCore(byte[] blob, BtfSpec? baseSpec)
    {
        ReadOnlySpan<byte> b = blob;
        if (b.Length < 8)
        {
            throw BtfException.AtOffset(0, $"{b.Length} bytes are too few for a BTF header");
        }

        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(b);
        if (magic != Magic)
        {
            throw BtfException.AtOffset(0, magic == BinaryPrimitives.ReverseEndianness(Magic)
                ? "big-endian BTF (byte-swapped magic 0xeb9f) is not supported"
                : $"bad magic 0x{magic:x4}, expected 0x{Magic:x4}");
        }

        if (b[2] != 1)
        {
            throw BtfException.AtOffset(2, $"unsupported BTF version {b[2]}");
        }

        uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        if (hdrLen < HeaderSize || hdrLen > (uint)b.Length)
        {
            throw BtfException.AtOffset(4, $"header length {hdrLen} is not between {HeaderSize} and the blob's {b.Length} bytes");
        }

        for (int i = HeaderSize; i < hdrLen; i++)
        {
            if (b[i] != 0)
            {
                throw BtfException.AtOffset(i, "the header has non-zero bytes this reader does not know");
            }
        }

        uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]);
        uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]);
        uint strLen = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]);
        ulong typeStart = hdrLen + (ulong)typeOff, typeEnd = typeStart + typeLen;
        ulong strStart = hdrLen + (ulong)strOff, strEnd = strStart + strLen;
        if (typeEnd > (ulong)b.Length)
        {
            throw BtfException.AtOffset(8, $"type section [{typeStart}, {typeEnd}) runs past the blob's {b.Length} bytes (truncated?)");
        }

        if (strEnd > (ulong)b.Length)
        {
            throw BtfException.AtOffset(16, $"string section [{strStart}, {strEnd}) runs past the blob's {b.Length} bytes (truncated?)");
        }

        if (typeOff % 4 != 0)
        {
            throw BtfException.AtOffset(8, $"type section offset {typeOff} is not 4-byte aligned");
        }

        if (typeLen > 0 && strLen > 0 && typeStart < strEnd && strStart < typeEnd)
        {
            throw BtfException.AtOffset(8, "the type and string sections overlap");
        }

        if (baseSpec is null && (strLen == 0 || b[(int)strStart] != 0))
        {
            throw BtfException.AtOffset((long)strStart, "the string section must start with the empty string");
        }

        if (strLen > 0 && b[(int)strEnd - 1] != 0)
        {
            throw BtfException.AtOffset((long)strEnd - 1, "the string section does not end with a NUL");
        }

        if (baseSpec is not null && (ulong)baseSpec.TypeCount + typeLen / TypeHeaderSize > uint.MaxValue)
        {
            throw BtfException.AtOffset(12, "too many types");
        }

        int[] offsets = IndexTypes(b.Slice((int)typeStart, (int)typeLen), (int)typeStart);
        var spec = new BtfSpec(blob, (int)typeStart, (int)strStart, (int)strLen, offsets, baseSpec);
        spec.CheckReferences();
        return spec;
    }

    /// <summary>First pass: the offset of every type record, checking that each record fits.</summary>
    // Fully optimized from the first call: a CLI parses vmlinux (126k types) once, in less time than tiered
    // compilation takes to promote a loop.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int[] IndexTypes(ReadOnlySpan<byte> types, int sectionStart)
    {
        int[] offsets = new int[types.Length / TypeHeaderSize];
        int count = 0;
        int pos = 0;
        while (pos < types.Length)
        {
            if (types.Length - pos < TypeHeaderSize)
            {
                throw BtfException.AtOffset(sectionStart + pos, $"type record {count + 1} is cut off: {types.Length - pos} bytes left of its 12-byte header (truncated?)");
            }

            uint info = BinaryPrimitives.ReadUInt32LittleEndian(types[(pos + 4)..]);
            int kind = (int)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffff);
            long extra = kind switch
            {
                (int)BtfKind.Int => 4,
                (int)BtfKind.Array => 12,
                (int)BtfKind.Struct or (int)BtfKind.Union => 12L * vlen,
                (int)BtfKind.Enum => 8L * vlen,
                (int)BtfKind.FunctionProto => 8L * vlen,
                (int)BtfKind.Variable => 4,
                (int)BtfKind.DataSection => 12L * vlen,
                (int)BtfKind.DeclTag => 4,
                (int)BtfKind.Enum64 => 12L * vlen,
                (int)BtfKind.Pointer or (int)BtfKind.Forward or (int)BtfKind.Typedef or (int)BtfKind.Volatile or (int)BtfKind.Const
                    or (int)BtfKind.Restrict or (int)BtfKind.Function or (int)BtfKind.Float or (int)BtfKind.TypeTag => 0,
                _ => throw BtfException.AtOffset(sectionStart + pos + 4, $"type record {count + 1} has unknown kind {kind}"),
            };

            if (types.Length - pos - TypeHeaderSize < extra)
            {
                throw BtfException.AtOffset(sectionStart + pos, $"type record {count + 1} ({((BtfKind)kind).KernelName()}, vlen {vlen}) needs {TypeHeaderSize + extra} bytes but {types.Length - pos} are left (truncated or a huge vlen)");
            }

            offsets[count++] = pos;
            pos += TypeHeaderSize + (int)extra;
        }

        if (count != offsets.Length)
        {
            Array.Resize(ref offsets, count);
        }

        return offsets;
    }

    /// <summary>Second pass: every type id and string offset a record holds is in range, and per-kind fields are sane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CheckReferences()
    {
        uint typeCount = (uint)TypeCount;
        uint stringEnd = StringEndOffset;
        for (int i = 0; i < _offsets.Length; i++)
        {
            int off = _offsets[i];
            uint id = FirstTypeId + (uint)i;
            CheckName(id, ReadU32(off), stringEnd, "its name");
            uint info = ReadU32(off + 4);
            var kind = (BtfKind)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffff);
            uint sizeOrType = ReadU32(off + 8);
            int data = off + TypeHeaderSize;
            switch (kind)
            {
                case BtfKind.Int:
                    uint enc = ReadU32(data);
                    uint bits = enc & 0xff, bitOff = (enc >> 16) & 0xff;
                    if (sizeOrType is not (1 or 2 or 4 or 8 or 16) || bits == 0 || bits + bitOff > sizeOrType * 8)
                    {
                        throw BtfException.AtType(id, $"INT of {sizeOrType} bytes with {bits} bits at bit offset {bitOff} is invalid");
                    }

                    break;
                case BtfKind.Pointer:
                case BtfKind.Typedef:
                case BtfKind.Volatile:
                case BtfKind.Const:
                case BtfKind.Restrict:
                case BtfKind.Function:
                case BtfKind.TypeTag:
                case BtfKind.Variable:
                case BtfKind.DeclTag:
                    CheckRef(id, sizeOrType, typeCount, "the type it refers to");
                    if (sizeOrType == id)
                    {
                        throw BtfException.AtType(id, $"{kind.KernelName()} refers to itself");
                    }

                    break;
                case BtfKind.FunctionProto:
                    CheckRef(id, sizeOrType, typeCount, "its return type");
                    for (int p = 0; p < vlen; p++)
                    {
                        CheckName(id, ReadU32(data + (8 * p)), stringEnd, "parameter {0}'s name", p);
                        CheckRef(id, ReadU32(data + (8 * p) + 4), typeCount, "parameter {0}'s type", p);
                    }

                    break;
                case BtfKind.Array:
                    CheckRef(id, ReadU32(data), typeCount, "the element type");
                    CheckRef(id, ReadU32(data + 4), typeCount, "the index type");
                    if (ReadU32(data) == id)
                    {
                        throw BtfException.AtType(id, "ARRAY of itself");
                    }

                    break;
                case BtfKind.Struct:
                case BtfKind.Union:
                    for (int m = 0; m < vlen; m++)
                    {
                        int mo = data + (12 * m);
                        CheckName(id, ReadU32(mo), stringEnd, "member {0}'s name", m);
                        CheckRef(id, ReadU32(mo + 4), typeCount, "member {0}'s type", m);
                        uint offset = ReadU32(mo + 8);
                        ulong bitOffset = (info & 0x80000000) != 0 ? offset & 0xffffff : offset;
                        if (bitOffset > (ulong)sizeOrType * 8)
                        {
                            throw BtfException.AtType(id, $"member {m} starts at bit {bitOffset}, past the end of the {sizeOrType}-byte {kind.KernelName()}");
                        }
                    }

                    break;
                case BtfKind.Enum:
                case BtfKind.Enum64:
                    int stride = kind == BtfKind.Enum ? 8 : 12;
                    for (int e = 0; e < vlen; e++)
                    {
                        CheckName(id, ReadU32(data + (stride * e)), stringEnd, "enumerator {0}'s name", e);
                    }

                    if (sizeOrType is not (1 or 2 or 4 or 8))
                    {
                        throw BtfException.AtType(id, $"{kind.KernelName()} of {sizeOrType} bytes is invalid");
                    }

                    break;
                case BtfKind.DataSection:
                    for (int v = 0; v < vlen; v++)
                    {
                        int vo = data + (12 * v);
                        CheckRef(id, ReadU32(vo), typeCount, "variable {0}", v);
                        ulong end = (ulong)ReadU32(vo + 4) + ReadU32(vo + 8);
                        if (end > sizeOrType && sizeOrType != 0)
                        {
                            throw BtfException.AtType(id, $"variable {v} ends at byte {end}, past the {sizeOrType}-byte section");
                        }
                    }

                    break;
                case BtfKind.Float:
                    if (sizeOrType is not (2 or 4 or 8 or 12 or 16))
                    {
                        throw BtfException.AtType(id, $"FLOAT of {sizeOrType} bytes is invalid");
                    }

                    break;
                case BtfKind.Forward:
                    break;
            }
        }
    }

    // The description is a composite format with the member/parameter index as {0}, formatted only on
    // failure: formatting it for every member of vmlinux cost more than the whole parse.
    private static void CheckRef(uint id, uint target, uint typeCount, string what, int index = -1)
    {
        if (target >= typeCount)
        {
            throw BtfException.AtType(id, $"{Describe(what, index)} is type id {target}, but the BTF has ids up to {typeCount - 1}");
        }
    }

    private void CheckName(uint id, uint nameOff, uint stringEnd, string what, int index = -1)
    {
        if (nameOff >= stringEnd && nameOff != 0)
        {
            throw BtfException.AtType(id, $"{Describe(what, index)} is at string offset {nameOff}, outside the string section (which ends at {stringEnd})");
        }

        if (nameOff < _stringBase && Base is null)
        {
            throw BtfException.AtType(id, $"{Describe(what, index)} is at string offset {nameOff}, below the string section");
        }
    }

    private static string Describe(string what, int index) => index < 0 ? what : string.Format(CultureInfo.InvariantCulture, what, index);
}
