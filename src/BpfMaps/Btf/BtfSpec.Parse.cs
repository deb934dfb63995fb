using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps.Btf;

public sealed partial class BtfSpec
{
    /// <summary>
    /// The whole file, in an array that is not zeroed first (every byte is read into it). sysfs hands
    /// out /sys/kernel/btf files a page per read, so the reads are many either way; a file whose size
    /// is not known up front, or that turns out longer than its size said, is read the ordinary way.
    /// </summary>
    internal static byte[] ReadFile(string path)
    {
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        if (length <= 0 || length > Array.MaxLength)
        {
            return File.ReadAllBytes(path);
        }

        byte[] blob = GC.AllocateUninitializedArray<byte>((int)length);
        int filled = 0;
        while (filled < blob.Length)
        {
            int got = RandomAccess.Read(handle, blob.AsSpan(filled), filled);
            if (got == 0)
            {
                Array.Resize(ref blob, filled);
                return blob;
            }

            filled += got;
        }

        Span<byte> probe = stackalloc byte[1];
        return RandomAccess.Read(handle, probe, filled) == 0 ? blob : File.ReadAllBytes(path);
    }

    private static BtfSpec ParseCore(ReadOnlyMemory<byte> blob, BtfSpec? baseSpec)
    {
        ReadOnlySpan<byte> b = blob.Span;
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

        uint firstId = baseSpec is null ? 1u : (uint)baseSpec.TypeCount;
        uint stringBase = baseSpec?.StringEndOffset ?? 0;
        var limits = new Limits(0, stringBase + strLen, stringBase, baseSpec is null);
        int[] offsets = Scan(b, (int)typeStart, (int)typeLen, firstId, limits, out bool clean, out uint maxRef);
        var spec = new BtfSpec(blob, (int)typeStart, (int)strStart, (int)strLen, offsets, baseSpec);
        if (!clean || maxRef >= (uint)spec.TypeCount)
        {
            spec.ReportFirstProblem();
        }

        return spec;
    }

    /// <summary>A little-endian u32 at <paramref name="offset"/> bytes past <paramref name="at"/>, which the caller has bounds-checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Read(ref byte at, int offset)
    {
        uint v = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref at, offset));
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    /// <summary>
    /// The one pass over the type section: finds every record and checks that it fits (throwing at once,
    /// as these problems make the rest unreadable), and checks each record's fields with
    /// <see cref="CheckRecord{TMode}"/> without stopping. The type count, which bounds every type id,
    /// is only known at the end, so type ids are checked then, through their maximum (<c>maxRef</c>).
    /// <c>clean</c> is false when a record failed a check; <see cref="ReportFirstProblem"/> says which.
    /// </summary>
    private static int[] Scan(ReadOnlySpan<byte> blob, int sectionStart, int length, uint firstId, Limits limits, out bool clean, out uint maxRef)
    {
        // Every record is at least 12 bytes, so there are at most length / 12 of them: gather the
        // offsets in a pooled array of that size, then copy out the ones there are.
        int[] scratch = ArrayPool<int>.Shared.Rent(Math.Max(1, length / TypeHeaderSize));
        try
        {
            int count = Scan(blob, sectionStart, length, firstId, limits, scratch, out clean, out maxRef);
            return scratch.AsSpan(0, count).ToArray();
        }
        finally
        {
            ArrayPool<int>.Shared.Return(scratch);
        }
    }

    /// <remarks>
    /// Reads are unchecked: each is within a record whose header and vlen entries the loop has just
    /// seen fit in the section, and the section lies in the blob (checked by the caller).
    /// </remarks>
    private static int Scan(ReadOnlySpan<byte> blob, int sectionStart, int length, uint firstId, Limits limits, int[] offsets, out bool clean, out uint maxRef)
    {
        ref int offset0 = ref MemoryMarshal.GetArrayDataReference(offsets);
        ref byte types = ref Unsafe.Add(ref MemoryMarshal.GetReference(blob), sectionStart);
        bool ok = true;
        uint max = 0;
        int count = 0;
        int pos = 0;
        while (pos < length)
        {
            int left = length - pos;
            if (left < TypeHeaderSize)
            {
                throw CutOff(sectionStart + pos, count + 1, left);
            }

            ref byte record = ref Unsafe.Add(ref types, pos);
            uint info = Read(ref record, 4);
            int kind = (int)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffffff);

            // Bytes after the 12-byte header: at most 12 * 65535, so no overflow. A switch rather than a
            // table: the branches are predicted, so the next record's position need not wait for this load.
            int extra;
            switch ((BtfKind)kind)
            {
                case BtfKind.Int or BtfKind.Variable or BtfKind.DeclTag: extra = 4; break;
                case BtfKind.Array: extra = 12; break;
                case BtfKind.Struct or BtfKind.Union or BtfKind.DataSection or BtfKind.Enum64: extra = 12 * vlen; break;
                case BtfKind.Enum or BtfKind.FunctionProto: extra = 8 * vlen; break;
                case BtfKind.Pointer or BtfKind.Forward or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const
                    or BtfKind.Restrict or BtfKind.Function or BtfKind.Float or BtfKind.TypeTag: extra = 0; break;
                default: throw UnknownKind(sectionStart + pos + 4, count + 1, kind);
            }

            if (left - TypeHeaderSize < extra)
            {
                throw TooLong(sectionStart + pos, count + 1, kind, vlen, extra, left);
            }

            Unsafe.Add(ref offset0, count) = pos;
            if (ok)
            {
                ok = CheckRecord<Deferred>(ref record, firstId + (uint)count, limits, ref max);
            }

            count++;
            pos += TypeHeaderSize + extra;
        }

        clean = ok;
        maxRef = max;
        return count;

        static BtfException CutOff(int at, int record, int left)
            => BtfException.AtOffset(at, $"type record {record} is cut off: {left} bytes left of its 12-byte header (truncated?)");

        static BtfException UnknownKind(int at, int record, int kind)
            => BtfException.AtOffset(at, $"type record {record} has unknown kind {kind}");

        static BtfException TooLong(int at, int record, int kind, int vlen, int extra, int left)
            => BtfException.AtOffset(at, $"type record {record} ({((BtfKind)kind).KernelName()}, vlen {vlen}) needs {TypeHeaderSize + extra} bytes but {left} are left (truncated or a huge vlen)");
    }

    /// <summary>
    /// Runs only when <see cref="Scan(ReadOnlySpan{byte}, int, int, uint, Limits, out bool, out uint)"/> found a
    /// problem: checks the records again in order, now with the type count known, and throws for the
    /// first problem, type ids included, with its message.
    /// </summary>
    private void ReportFirstProblem()
    {
        var limits = new Limits((uint)TypeCount, StringEndOffset, _stringBase, Base is null);
        ref byte types = ref Unsafe.Add(ref MemoryMarshal.GetReference(Blob), _typeStart);
        uint unused = 0;
        for (int i = 0; i < _offsets.Length; i++)
        {
            CheckRecord<Immediate>(ref Unsafe.Add(ref types, _offsets[i]), FirstTypeId + (uint)i, limits, ref unused);
        }

        throw new System.Diagnostics.UnreachableException("the BTF scan flagged a problem that the check in order did not find");
    }

    /// <summary>The bounds a record's fields are checked against.</summary>
    /// <param name="TypeCount">One past the largest valid type id (unused by <see cref="Deferred"/>).</param>
    /// <param name="StringEnd">One past the last string offset.</param>
    /// <param name="StringBase">The first string offset of this blob (its base's end, for split BTF).</param>
    /// <param name="NoBase">Whether the blob stands alone.</param>
    private readonly record struct Limits(uint TypeCount, uint StringEnd, uint StringBase, bool NoBase);

    /// <summary>How <see cref="CheckRecord{TMode}"/> reports: at once with a message, or as a flag.</summary>
    private interface ICheckMode
    {
        /// <summary>Throw the problem's exception (true), or return false and let the caller decide.</summary>
        static abstract bool Throws { get; }
    }

    /// <summary>The scan's mode: problems become false, type ids go into a maximum.</summary>
    private readonly struct Deferred : ICheckMode
    {
        public static bool Throws => false;
    }

    /// <summary>The report's mode: the first problem throws.</summary>
    private readonly struct Immediate : ICheckMode
    {
        public static bool Throws => true;
    }

    /// <summary>
    /// Every string offset and type id a record holds is in range, and its per-kind fields are sane. The
    /// one statement of these rules: the scan runs it in <see cref="Deferred"/> mode and the report in
    /// <see cref="Immediate"/> mode, so that the two cannot disagree.
    /// </summary>
    /// <returns>True when the record is fine (in <see cref="Deferred"/> mode, as far as its type ids can be told yet).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool CheckRecord<TMode>(ref byte record, uint id, Limits limits, ref uint maxRef)
        where TMode : struct, ICheckMode
    {
        if (!Name<TMode>(id, Read(ref record, 0), limits, NameOf.Type, 0))
        {
            return false;
        }

        uint info = Read(ref record, 4);
        var kind = (BtfKind)((info >> 24) & 0x1f);
        int vlen = (int)(info & 0xffffff);
        uint sizeOrType = Read(ref record, 8);
        ref byte data = ref Unsafe.Add(ref record, TypeHeaderSize);
        switch (kind)
        {
            case BtfKind.Int:
                uint enc = Read(ref data, 0);
                uint bits = enc & 0xff, bitOff = (enc >> 16) & 0xff;
                if (sizeOrType is not (1 or 2 or 4 or 8 or 16) || bits == 0 || bits + bitOff > sizeOrType * 8)
                {
                    return TMode.Throws ? throw BadInt(id, sizeOrType, bits, bitOff) : false;
                }

                return true;
            case BtfKind.Pointer:
            case BtfKind.Typedef:
            case BtfKind.Volatile:
            case BtfKind.Const:
            case BtfKind.Restrict:
            case BtfKind.Function:
            case BtfKind.TypeTag:
            case BtfKind.Variable:
            case BtfKind.DeclTag:
                Ref<TMode>(id, sizeOrType, limits, ref maxRef, RefOf.Target, 0);
                if (sizeOrType == id)
                {
                    return TMode.Throws ? throw SelfReference(id, kind) : false;
                }

                return true;
            case BtfKind.FunctionProto:
                Ref<TMode>(id, sizeOrType, limits, ref maxRef, RefOf.Return, 0);
                for (int p = 0; p < vlen; p++)
                {
                    ref byte param = ref Unsafe.Add(ref data, 8 * p);
                    if (!Name<TMode>(id, Read(ref param, 0), limits, NameOf.Parameter, p))
                    {
                        return false;
                    }

                    Ref<TMode>(id, Read(ref param, 4), limits, ref maxRef, RefOf.Parameter, p);
                }

                return true;
            case BtfKind.Array:
                uint element = Read(ref data, 0);
                Ref<TMode>(id, element, limits, ref maxRef, RefOf.Element, 0);
                Ref<TMode>(id, Read(ref data, 4), limits, ref maxRef, RefOf.Index, 0);
                if (element == id)
                {
                    return TMode.Throws ? throw BtfException.AtType(id, "ARRAY of itself") : false;
                }

                return true;
            case BtfKind.Struct:
            case BtfKind.Union:
                ulong sizeBits = (ulong)sizeOrType * 8;
                uint offsetMask = (info & 0x80000000) != 0 ? 0xffffffu : 0xffffffffu;
                for (int m = 0; m < vlen; m++)
                {
                    ref byte member = ref Unsafe.Add(ref data, 12 * m);
                    if (!Name<TMode>(id, Read(ref member, 0), limits, NameOf.Member, m))
                    {
                        return false;
                    }

                    Ref<TMode>(id, Read(ref member, 4), limits, ref maxRef, RefOf.Member, m);
                    uint bitOffset = Read(ref member, 8) & offsetMask;
                    if (bitOffset > sizeBits)
                    {
                        return TMode.Throws ? throw MemberPastEnd(id, m, bitOffset, sizeOrType, kind) : false;
                    }
                }

                return true;
            case BtfKind.Enum:
            case BtfKind.Enum64:
                int stride = kind == BtfKind.Enum ? 8 : 12;
                for (int e = 0; e < vlen; e++)
                {
                    if (!Name<TMode>(id, Read(ref data, stride * e), limits, NameOf.Enumerator, e))
                    {
                        return false;
                    }
                }

                if (sizeOrType is not (1 or 2 or 4 or 8))
                {
                    return TMode.Throws ? throw BtfException.AtType(id, $"{kind.KernelName()} of {sizeOrType} bytes is invalid") : false;
                }

                return true;
            case BtfKind.DataSection:
                for (int v = 0; v < vlen; v++)
                {
                    ref byte variable = ref Unsafe.Add(ref data, 12 * v);
                    Ref<TMode>(id, Read(ref variable, 0), limits, ref maxRef, RefOf.Variable, v);
                    ulong end = (ulong)Read(ref variable, 4) + Read(ref variable, 8);
                    if (end > sizeOrType && sizeOrType != 0)
                    {
                        return TMode.Throws ? throw BtfException.AtType(id, $"variable {v} ends at byte {end}, past the {sizeOrType}-byte section") : false;
                    }
                }

                return true;
            case BtfKind.Float:
                if (sizeOrType is not (2 or 4 or 8 or 12 or 16))
                {
                    return TMode.Throws ? throw BtfException.AtType(id, $"FLOAT of {sizeOrType} bytes is invalid") : false;
                }

                return true;
            default:
                return true;
        }

        static BtfException BadInt(uint id, uint size, uint bits, uint bitOff)
            => BtfException.AtType(id, $"INT of {size} bytes with {bits} bits at bit offset {bitOff} is invalid");

        static BtfException SelfReference(uint id, BtfKind kind)
            => BtfException.AtType(id, $"{kind.KernelName()} refers to itself");

        static BtfException MemberPastEnd(uint id, int m, uint bitOffset, uint size, BtfKind kind)
            => BtfException.AtType(id, $"member {m} starts at bit {bitOffset}, past the end of the {size}-byte {kind.KernelName()}");
    }

    /// <summary>Which name a string offset is, for the message.</summary>
    private enum NameOf
    {
        Type,
        Parameter,
        Member,
        Enumerator,
    }

    /// <summary>Which reference a type id is, for the message.</summary>
    private enum RefOf
    {
        Target,
        Return,
        Parameter,
        Element,
        Index,
        Member,
        Variable,
    }

    /// <summary>A type id: checked against the type count at once, or folded into the maximum for the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Ref<TMode>(uint id, uint target, Limits limits, ref uint maxRef, RefOf what, int index)
        where TMode : struct, ICheckMode
    {
        if (TMode.Throws)
        {
            if (target >= limits.TypeCount)
            {
                throw BadRef(id, target, limits.TypeCount, what, index);
            }
        }
        else
        {
            maxRef = Math.Max(maxRef, target);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Name<TMode>(uint id, uint nameOff, Limits limits, NameOf what, int index)
        where TMode : struct, ICheckMode
    {
        if ((nameOff >= limits.StringEnd && nameOff != 0) || (nameOff < limits.StringBase && limits.NoBase))
        {
            return TMode.Throws ? throw BadName(id, nameOff, limits.StringEnd, what, index) : false;
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BtfException BadRef(uint id, uint target, uint typeCount, RefOf what, int index)
    {
        string whose = what switch
        {
            RefOf.Target => "the type it refers to",
            RefOf.Return => "its return type",
            RefOf.Parameter => $"parameter {index}'s type",
            RefOf.Element => "the element type",
            RefOf.Index => "the index type",
            RefOf.Member => $"member {index}'s type",
            _ => $"variable {index}",
        };
        return BtfException.AtType(id, $"{whose} is type id {target}, but the BTF has ids up to {typeCount - 1}");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BtfException BadName(uint id, uint nameOff, uint stringEnd, NameOf what, int index)
    {
        string whose = what switch
        {
            NameOf.Type => "its name",
            NameOf.Parameter => $"parameter {index}'s name",
            NameOf.Member => $"member {index}'s name",
            _ => $"enumerator {index}'s name",
        };
        return nameOff >= stringEnd && nameOff != 0
            ? BtfException.AtType(id, $"{whose} is at string offset {nameOff}, outside the string section (which ends at {stringEnd})")
            : BtfException.AtType(id, $"{whose} is at string offset {nameOff}, below the string section");
    }
}
