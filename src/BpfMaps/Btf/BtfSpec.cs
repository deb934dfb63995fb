using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace BpfMaps.Btf;

/// <summary>
/// A parsed BTF blob: its type section indexed by type id, and its string section. Split BTF (a kernel
/// module's, on top of vmlinux) continues the type ids and string offsets of its <see cref="Base"/>.
/// </summary>
/// <remarks>
/// Parsing walks the type section once, checks every record, type reference and string offset against
/// the blob, and stores one offset per type; types are read on demand through <see cref="BtfType"/>
/// views, so nothing is allocated per type. A malformed blob throws <see cref="BtfException"/> naming
/// the byte offset or type id; the checks bound every loop and allocation by the blob's size.
/// </remarks>
public sealed partial class BtfSpec
{
    /// <summary>The magic number at the start of every BTF blob, as read on a little-endian machine.</summary>
    public const ushort Magic = 0xeb9f;

    private const int HeaderSize = 24;
    private const int TypeHeaderSize = 12;

    // A typedef/const/volatile chain longer than this is treated as a cycle, as libbpf and the kernel bound theirs.
    private const int MaxResolveDepth = 32;

    // The blob: an array, or (vmlinux) the process's permanent read-only mapping of the kernel's file, which is
    // never unmapped, so a pointer to it stays valid. Spans are made from these directly: a ReadOnlyMemory over
    // the mapping would cost a virtual call for every read.
    private readonly byte[]? _blobArray;
    private readonly unsafe byte* _blobMapped;
    private readonly int _blobLength;
    private readonly int _typeStart;
    private readonly int _strStart;
    private readonly int _strLen;
    private readonly int[] _offsets;
    private readonly uint _stringBase;
    private Dictionary<string, object>? _byName;

    private unsafe BtfSpec(ReadOnlyMemory<byte> blob, int typeStart, int strStart, int strLen, int[] offsets, BtfSpec? baseSpec)
    {
        if (MemoryMarshal.TryGetArray(blob, out ArraySegment<byte> segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
        {
            _blobArray = segment.Array;
        }
        else if (MemoryMarshal.TryGetArray(blob, out _))
        {
            _blobArray = blob.ToArray();
        }
        else
        {
            // Not an array: only the permanent mapping (BtfSpec.Kernel) is passed in this way, so the pointer
            // stays valid without a pin being held.
            _blobMapped = (byte*)blob.Pin().Pointer;
        }

        _blobLength = blob.Length;
        _typeStart = typeStart;
        _strStart = strStart;
        _strLen = strLen;
        _offsets = offsets;
        Base = baseSpec;
        FirstTypeId = baseSpec is null ? 1u : (uint)baseSpec.TypeCount;
        _stringBase = baseSpec is null ? 0u : baseSpec.StringEndOffset;
        TypeCount = (int)FirstTypeId + offsets.Length;
    }

    /// <summary>The BTF this one is split from (vmlinux, for a kernel module), or null.</summary>
    public BtfSpec? Base { get; }

    /// <summary>The first type id this blob defines: 1, or the base's type count for split BTF.</summary>
    public uint FirstTypeId { get; }

    /// <summary>One more than the last type id, counting <c>void</c> (id 0) and the base's types.</summary>
    public int TypeCount { get; }

    /// <summary>The raw blob (header, types, strings), as parsed.</summary>
    public ReadOnlySpan<byte> RawBytes => Blob;

    private unsafe ReadOnlySpan<byte> Blob => _blobArray ?? new ReadOnlySpan<byte>(_blobMapped, _blobLength);

    /// <summary>Bytes of a pointer in this BTF's target: 8 unless the BTF says <c>long</c> is 4 bytes.</summary>
    public int PointerSize => _pointerSize ??= FindPointerSize();

    private int? _pointerSize;

    /// <summary>One past the last string offset of this BTF; split BTF on top of it starts its strings here.</summary>
    public uint StringEndOffset => _stringBase + (uint)_strLen;

    /// <summary>Parses a BTF blob; the array is kept, not copied.</summary>
    /// <param name="blob">Header, type section and string section (for example a <c>.BTF</c> ELF section, or /sys/kernel/btf/vmlinux).</param>
    /// <param name="baseSpec">For split BTF, the BTF it extends; otherwise null.</param>
    /// <returns>The parsed BTF.</returns>
    /// <exception cref="BtfException">The blob is malformed; the message names the offset or type id.</exception>
    public static BtfSpec Parse(byte[] blob, BtfSpec? baseSpec = null)
    {
        ArgumentNullException.ThrowIfNull(blob);
        return ParseCore(blob, baseSpec);
    }

    /// <summary>Parses a copy of a BTF blob.</summary>
    /// <param name="blob">Header, type section and string section.</param>
    /// <param name="baseSpec">For split BTF, the BTF it extends; otherwise null.</param>
    /// <returns>The parsed BTF.</returns>
    /// <exception cref="BtfException">The blob is malformed.</exception>
    public static BtfSpec Parse(ReadOnlySpan<byte> blob, BtfSpec? baseSpec = null) => ParseCore(blob.ToArray(), baseSpec);

    /// <summary>
    /// Reads and parses a BTF file: raw BTF (such as <c>/sys/kernel/btf/vmlinux</c>), or the <c>.BTF</c> section
    /// of a 64-bit little-endian ELF object (a compiled <c>.bpf.o</c>, a vmlinux image), told apart by the
    /// file's magic as libbpf's <c>btf__parse</c> does. Only the ELF headers and the one section are read.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="baseSpec">For split BTF (a module's file beside vmlinux), the base; otherwise null.</param>
    /// <returns>The parsed BTF.</returns>
    /// <exception cref="BtfException">
    /// The file is neither raw BTF nor an ELF object, the ELF object is malformed or has no <c>.BTF</c>
    /// section, or the BTF is malformed; the message names the byte offset (in the file, or in the BTF
    /// with the section's file offset) or the type id.
    /// </exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static BtfSpec LoadFile(string path, BtfSpec? baseSpec = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SafeFileHandle file = File.OpenHandle(path);
        Span<byte> magic = stackalloc byte[4];
        int got = RandomAccess.Read(file, magic, 0);
        if (!ElfSections.HasMagic(magic[..got]))
        {
            if (got >= 2 && BinaryPrimitives.ReadUInt16LittleEndian(magic) is not Magic and not 0x9feb)
            {
                throw BtfException.AtOffset(0, $"the file is neither raw BTF (magic 0xeb9f) nor an ELF object (magic 7f 45 4c 46): it starts with {string.Join(' ', magic[..got].ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))}");
            }

            return ParseCore(Path.GetFullPath(path) == VmlinuxPath ? ReadKernelFile(VmlinuxPath) : ReadFile(path), baseSpec);
        }

        byte[] section = ElfSections.ReadSection(file, ".BTF", out long sectionOffset)
            ?? throw new BtfException("ELF: the object has no .BTF section (clang writes one with -g)");
        try
        {
            return ParseCore(section, baseSpec);
        }
        catch (BtfException e)
        {
            throw new BtfException($"{e.Message} in the .BTF section, which starts at file offset {sectionOffset}", e) { Offset = e.Offset, TypeId = e.TypeId };
        }
    }

    /// <summary>The type with id <paramref name="id"/>; id 0 is <c>void</c>.</summary>
    /// <param name="id">A type id below <see cref="TypeCount"/>.</param>
    /// <returns>A view of the type.</returns>
    /// <exception cref="BtfException">No such id.</exception>
    public BtfType TypeById(uint id)
    {
        if (id == 0)
        {
            return new BtfType(this, 0, -1);
        }

        if (id < FirstTypeId)
        {
            return Base!.TypeById(id);
        }

        ulong index = id - FirstTypeId;
        if (index >= (ulong)_offsets.Length)
        {
            throw BtfException.AtType(id, $"no such type (the BTF has ids up to {TypeCount - 1})");
        }

        return new BtfType(this, id, _offsets[index]);
    }

    /// <summary>Whether <paramref name="id"/> names a type of this BTF or its base.</summary>
    /// <param name="id">The id.</param>
    /// <returns>True when <see cref="TypeById"/> would succeed.</returns>
    public bool Contains(uint id) => id < (uint)TypeCount;

    /// <summary>The types this blob defines (not its base's), by ascending id.</summary>
    /// <returns>The types.</returns>
    public IEnumerable<BtfType> Types()
    {
        for (int i = 0; i < _offsets.Length; i++)
        {
            yield return new BtfType(this, FirstTypeId + (uint)i, _offsets[i]);
        }
    }

    /// <summary>The string at <paramref name="offset"/> of the string section (continuing the base's, for split BTF).</summary>
    /// <param name="offset">A string offset, as a name_off field holds.</param>
    /// <returns>The string; empty at offset 0.</returns>
    /// <exception cref="BtfException">The offset is outside the string section.</exception>
    public string GetString(uint offset) => Encoding.UTF8.GetString(GetStringBytes(offset));

    /// <summary>The UTF-8 bytes of the string at <paramref name="offset"/>, without its NUL.</summary>
    /// <param name="offset">A string offset.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="BtfException">The offset is outside the string section.</exception>
    public ReadOnlySpan<byte> GetStringBytes(uint offset)
    {
        if (offset < _stringBase)
        {
            return Base!.GetStringBytes(offset);
        }

        uint rel = offset - _stringBase;
        if (rel >= (uint)_strLen)
        {
            throw new BtfException($"BTF: string offset {offset} is outside the string section (which ends at {StringEndOffset})");
        }

        ReadOnlySpan<byte> s = Blob.Slice(_strStart + (int)rel, _strLen - (int)rel);
        return s[..s.IndexOf((byte)0)];
    }

    /// <summary>
    /// Follows typedef, const, volatile, restrict and type tag from <paramref name="id"/> to the type they qualify.
    /// </summary>
    /// <param name="id">A type id.</param>
    /// <returns>The first type that is not a modifier (possibly void).</returns>
    /// <exception cref="BtfException">The chain is a cycle, or an id is out of range.</exception>
    public BtfType ResolveModifiers(uint id)
    {
        BtfType t = TypeById(id);
        for (int depth = 0; t.Kind.IsModifier(); depth++)
        {
            if (depth >= MaxResolveDepth)
            {
                throw BtfException.AtType(id, $"typedef/const/volatile chain longer than {MaxResolveDepth}: a cycle?");
            }

            t = TypeById(t.Type);
        }

        return t;
    }

    /// <summary>
    /// The size in bytes of a value of type <paramref name="id"/>, through modifiers, arrays and variables.
    /// </summary>
    /// <param name="id">A type id.</param>
    /// <returns>The size.</returns>
    /// <exception cref="BtfException">The type has no size (void, function, forward declaration), the size overflows, or a cycle.</exception>
    public long SizeOf(uint id) => SizeOf(id, 0);

    /// <summary>The alignment in bytes of type <paramref name="id"/> (1 for a packed struct or union).</summary>
    /// <param name="id">A type id.</param>
    /// <returns>The alignment.</returns>
    /// <exception cref="BtfException">The type has no alignment (void, function, forward declaration), or a cycle.</exception>
    public int AlignOf(uint id) => AlignOf(id, 0);

    /// <summary>Ids of every type named <paramref name="name"/>, in this BTF and its base, by ascending id.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The ids (empty when none).</returns>
    public IReadOnlyList<uint> FindTypes(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        List<uint> ids = Base is null ? [] : [.. Base.FindTypes(name)];
        switch (NameIndex().GetValueOrDefault(name))
        {
            case uint one:
                ids.Add(one);
                break;
            case List<uint> many:
                ids.AddRange(many);
                break;
        }

        return ids;
    }

    /// <summary>Finds the first type named <paramref name="name"/> of kind <paramref name="kind"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="kind">The kind.</param>
    /// <param name="type">The type when found.</param>
    /// <returns>False when there is none.</returns>
    public bool TryFindType(string name, BtfKind kind, out BtfType type)
    {
        foreach (uint id in FindTypes(name))
        {
            BtfType t = TypeById(id);
            if (t.Kind == kind)
            {
                type = t;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Finds the type named <paramref name="name"/> of kind <paramref name="kind"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="kind">The kind.</param>
    /// <returns>The type.</returns>
    /// <exception cref="KeyNotFoundException">No type has that name and kind.</exception>
    public BtfType FindType(string name, BtfKind kind)
        => TryFindType(name, kind, out BtfType t) ? t : throw new KeyNotFoundException($"no {kind.KernelName()} named '{name}' in this BTF");

    internal ReadOnlySpan<byte> TypeBytes(int offset, int length) => Blob.Slice(_typeStart + offset, length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint ReadU32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(Blob.Slice(_typeStart + offset, 4));

    private long SizeOf(uint id, int depth)
    {
        if (depth > MaxResolveDepth)
        {
            throw BtfException.AtType(id, $"type references nest deeper than {MaxResolveDepth}: a cycle?");
        }

        BtfType t = TypeById(id);
        switch (t.Kind)
        {
            case BtfKind.Int:
            case BtfKind.Enum:
            case BtfKind.Enum64:
            case BtfKind.Struct:
            case BtfKind.Union:
            case BtfKind.Float:
            case BtfKind.DataSection:
                return t.Size;
            case BtfKind.Pointer:
                return PointerSize;
            case BtfKind.Typedef:
            case BtfKind.Const:
            case BtfKind.Volatile:
            case BtfKind.Restrict:
            case BtfKind.TypeTag:
            case BtfKind.Variable:
                return SizeOf(t.Type, depth + 1);
            case BtfKind.Array:
                long element = SizeOf(t.ArrayElementType, depth + 1);
                long total;
                try
                {
                    total = checked(element * t.ArrayLength);
                }
                catch (OverflowException)
                {
                    throw BtfException.AtType(id, $"array of {t.ArrayLength} elements of {element} bytes overflows");
                }

                return total <= int.MaxValue ? total : throw BtfException.AtType(id, $"array size {total} is larger than any BPF value can be");
            default:
                throw BtfException.AtType(id, $"{t.Kind.KernelName()} has no size");
        }
    }

    private int AlignOf(uint id, int depth)
    {
        if (depth > MaxResolveDepth)
        {
            throw BtfException.AtType(id, $"type references nest deeper than {MaxResolveDepth}: a cycle?");
        }

        BtfType t = TypeById(id);
        switch (t.Kind)
        {
            case BtfKind.Int:
            case BtfKind.Enum:
            case BtfKind.Enum64:
            case BtfKind.Float:
                return (int)Math.Min((uint)PointerSize, Math.Max(t.Size, 1u));
            case BtfKind.Pointer:
                return PointerSize;
            case BtfKind.Typedef:
            case BtfKind.Const:
            case BtfKind.Volatile:
            case BtfKind.Restrict:
            case BtfKind.TypeTag:
            case BtfKind.Variable:
                return AlignOf(t.Type, depth + 1);
            case BtfKind.Array:
                return AlignOf(t.ArrayElementType, depth + 1);
            case BtfKind.Struct:
            case BtfKind.Union:
                int max = 1;
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfMember m = t.Member(i);
                    int a = AlignOf(m.TypeId, depth + 1);
                    if (m.BitfieldSize == 0 && m.BitOffset % (8L * a) != 0)
                    {
                        return 1; // a member off its natural alignment: the struct is packed
                    }

                    max = Math.Max(max, a);
                }

                return t.Size % max == 0 ? max : 1;
            default:
                throw BtfException.AtType(id, $"{t.Kind.KernelName()} has no alignment");
        }
    }

    private int FindPointerSize()
    {
        foreach (string name in (ReadOnlySpan<string>)["long", "unsigned long", "long int", "long unsigned int"])
        {
            if (TryFindType(name, BtfKind.Int, out BtfType t) && t.Size is 4 or 8)
            {
                return (int)t.Size;
            }
        }

        return 8;
    }

    private Dictionary<string, object> NameIndex()
    {
        if (_byName is { } index)
        {
            return index;
        }

        index = new Dictionary<string, object>(_offsets.Length, StringComparer.Ordinal);
        var lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> buffer = stackalloc char[256];
        for (int i = 0; i < _offsets.Length; i++)
        {
            uint nameOff = ReadU32(_offsets[i]);
            if (nameOff == 0)
            {
                continue;
            }

            uint id = FirstTypeId + (uint)i;
            ReadOnlySpan<byte> bytes = GetStringBytes(nameOff);
            ReadOnlySpan<char> name = bytes.Length <= buffer.Length && Ascii.IsValid(bytes)
                ? buffer[..Encoding.ASCII.GetChars(bytes, buffer)]
                : Encoding.UTF8.GetString(bytes);
            if (!lookup.TryGetValue(name, out object? existing))
            {
                lookup[name] = id;
            }
            else if (existing is List<uint> list)
            {
                list.Add(id);
            }
            else
            {
                lookup[name] = new List<uint> { (uint)existing, id };
            }
        }

        _byName = index;
        return index;
    }
}
