using System.Buffers.Binary;
using System.Text;

namespace BpfMaps.Btf;

/// <summary>
/// Writes a raw BTF blob, type by type: every kind the kernel knows, for describing map keys and values
/// (and for tests of readers). Ids are handed out in order, starting after the base for split BTF.
/// The builder does not check that the types make sense together; the kernel's BPF_BTF_LOAD and
/// <see cref="BtfSpec.Parse(byte[], BtfSpec?)"/> do.
/// </summary>
public sealed class BtfBuilder
{
    private readonly List<byte> _types = [];
    private readonly List<byte> _strings = [0];
    private readonly Dictionary<string, uint> _stringOffsets = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly uint _stringBase;
    private uint _nextId;

    /// <summary>Starts a standalone blob; the first type gets id 1.</summary>
    public BtfBuilder()
    {
        _nextId = 1;
    }

    /// <summary>Starts split BTF on top of <paramref name="baseSpec"/>: ids and string offsets continue the base's.</summary>
    /// <param name="baseSpec">The base BTF, such as vmlinux.</param>
    public BtfBuilder(BtfSpec baseSpec)
    {
        ArgumentNullException.ThrowIfNull(baseSpec);
        _nextId = (uint)baseSpec.TypeCount;
        _stringBase = baseSpec.StringEndOffset;
        _stringOffsets[""] = _stringBase;
    }

    /// <summary>The id the next added type will get.</summary>
    public uint NextId => _nextId;

    /// <summary>Adds an integer type (BTF_KIND_INT).</summary>
    /// <param name="name">The type name, e.g. <c>int</c>.</param>
    /// <param name="sizeBytes">1, 2, 4, 8 or 16.</param>
    /// <param name="isSigned">Whether it is signed.</param>
    /// <param name="encoding">Extra encoding: <see cref="BtfIntEncoding.Char"/> or <see cref="BtfIntEncoding.Bool"/>.</param>
    /// <returns>The new type id.</returns>
    public uint AddInt(string name, int sizeBytes, bool isSigned, BtfIntEncoding encoding = BtfIntEncoding.None)
    {
        uint enc = (isSigned ? 1u : 0u) | (uint)encoding;
        return Add(name, BtfKind.Int, 0, false, (uint)sizeBytes, (enc << 24) | (uint)(sizeBytes * 8));
    }

    /// <summary>Adds a floating-point type (BTF_KIND_FLOAT).</summary>
    /// <param name="name">The name, e.g. <c>double</c>.</param>
    /// <param name="sizeBytes">2, 4, 8, 12 or 16.</param>
    /// <returns>The new type id.</returns>
    public uint AddFloat(string name, int sizeBytes) => Add(name, BtfKind.Float, 0, false, (uint)sizeBytes);

    /// <summary>Adds a pointer to <paramref name="target"/> (BTF_KIND_PTR).</summary>
    /// <param name="target">The pointee's type id (0 for <c>void *</c>).</param>
    /// <returns>The new type id.</returns>
    public uint AddPointer(uint target) => Add(string.Empty, BtfKind.Pointer, 0, false, target);

    /// <summary>Adds an array (BTF_KIND_ARRAY).</summary>
    /// <param name="elementType">The element type id.</param>
    /// <param name="indexType">The index type id (an int type).</param>
    /// <param name="length">Number of elements.</param>
    /// <returns>The new type id.</returns>
    public uint AddArray(uint elementType, uint indexType, uint length) => Add(string.Empty, BtfKind.Array, 0, false, 0, elementType, indexType, length);

    /// <summary>Adds a struct whose members are all byte-aligned and not bitfields.</summary>
    /// <param name="name">The struct name (<c>bpf_spin_lock</c> for the lock BPF_F_LOCK needs).</param>
    /// <param name="sizeBytes">The struct size.</param>
    /// <param name="members">Members as (name, type id, byte offset).</param>
    /// <returns>The new type id.</returns>
    public uint AddStruct(string name, int sizeBytes, params (string Name, uint TypeId, int ByteOffset)[] members)
    {
        ArgumentNullException.ThrowIfNull(members);
        return AddComposite(BtfKind.Struct, name, sizeBytes, [.. members.Select(m => new BtfBuilderMember(m.Name, m.TypeId, (uint)m.ByteOffset * 8))]);
    }

    /// <summary>Adds a struct or union; members with a bitfield size make it use the kind_flag encoding.</summary>
    /// <param name="kind"><see cref="BtfKind.Struct"/> or <see cref="BtfKind.Union"/>.</param>
    /// <param name="name">The name (empty for an anonymous one).</param>
    /// <param name="sizeBytes">The size.</param>
    /// <param name="members">The members.</param>
    /// <returns>The new type id.</returns>
    /// <exception cref="ArgumentException">Not a struct or union kind.</exception>
    public uint AddComposite(BtfKind kind, string name, int sizeBytes, IReadOnlyList<BtfBuilderMember> members)
    {
        BpfErrors.ThrowIfContainsNul(name, nameof(name));
        ArgumentNullException.ThrowIfNull(members);
        if (kind is not (BtfKind.Struct or BtfKind.Union))
        {
            throw new ArgumentException($"{kind} is not a struct or union", nameof(kind));
        }

        bool bitfields = members.Any(m => m.BitfieldSize != 0);
        uint[] data = new uint[members.Count * 3];
        for (int i = 0; i < members.Count; i++)
        {
            BtfBuilderMember m = members[i];
            data[3 * i] = Str(m.Name);
            data[(3 * i) + 1] = m.TypeId;
            data[(3 * i) + 2] = bitfields ? ((uint)m.BitfieldSize << 24) | (m.BitOffset & 0xffffff) : m.BitOffset;
        }

        return Add(name, kind, members.Count, bitfields, (uint)sizeBytes, data);
    }

    /// <summary>Adds an enum of up to 32 bits (BTF_KIND_ENUM).</summary>
    /// <param name="name">The name.</param>
    /// <param name="sizeBytes">1, 2, 4 or 8.</param>
    /// <param name="isSigned">Whether values are signed (kind_flag).</param>
    /// <param name="values">The enumerators.</param>
    /// <returns>The new type id.</returns>
    public uint AddEnum(string name, int sizeBytes, bool isSigned, params (string Name, int Value)[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        uint[] data = new uint[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            data[2 * i] = Str(values[i].Name);
            data[(2 * i) + 1] = (uint)values[i].Value;
        }

        return Add(name, BtfKind.Enum, values.Length, isSigned, (uint)sizeBytes, data);
    }

    /// <summary>Adds an enum of up to 64 bits (BTF_KIND_ENUM64).</summary>
    /// <param name="name">The name.</param>
    /// <param name="sizeBytes">1, 2, 4 or 8.</param>
    /// <param name="isSigned">Whether values are signed (kind_flag).</param>
    /// <param name="values">The enumerators.</param>
    /// <returns>The new type id.</returns>
    public uint AddEnum64(string name, int sizeBytes, bool isSigned, params (string Name, ulong Value)[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        uint[] data = new uint[values.Length * 3];
        for (int i = 0; i < values.Length; i++)
        {
            data[3 * i] = Str(values[i].Name);
            data[(3 * i) + 1] = (uint)values[i].Value;
            data[(3 * i) + 2] = (uint)(values[i].Value >> 32);
        }

        return Add(name, BtfKind.Enum64, values.Length, isSigned, (uint)sizeBytes, data);
    }

    /// <summary>Adds a forward declaration (BTF_KIND_FWD).</summary>
    /// <param name="name">The struct or union name.</param>
    /// <param name="isUnion">Whether it declares a union.</param>
    /// <returns>The new type id.</returns>
    public uint AddForward(string name, bool isUnion) => Add(name, BtfKind.Forward, 0, isUnion, 0);

    /// <summary>Adds a typedef, const, volatile, restrict or type tag of <paramref name="target"/>.</summary>
    /// <param name="kind">One of the modifier kinds.</param>
    /// <param name="name">The typedef's or tag's name; empty for const, volatile and restrict.</param>
    /// <param name="target">The type it qualifies.</param>
    /// <returns>The new type id.</returns>
    /// <exception cref="ArgumentException">Not a modifier kind.</exception>
    public uint AddModifier(BtfKind kind, string name, uint target)
    {
        BpfErrors.ThrowIfContainsNul(name, nameof(name));
        return kind.IsModifier() ? Add(name, kind, 0, false, target) : throw new ArgumentException($"{kind} is not a modifier", nameof(kind));
    }

    /// <summary>Adds a typedef.</summary>
    /// <param name="name">The name.</param>
    /// <param name="target">The type it names.</param>
    /// <returns>The new type id.</returns>
    public uint AddTypedef(string name, uint target) => AddModifier(BtfKind.Typedef, name, target);

    /// <summary>Adds a declaration tag (BTF_KIND_DECL_TAG).</summary>
    /// <param name="tag">The tag string.</param>
    /// <param name="target">The declaration tagged.</param>
    /// <param name="componentIndex">A member or parameter index, or -1 for the declaration itself.</param>
    /// <returns>The new type id.</returns>
    public uint AddDeclTag(string tag, uint target, int componentIndex = -1) => Add(tag, BtfKind.DeclTag, 0, false, target, (uint)componentIndex);

    /// <summary>Adds a function prototype (BTF_KIND_FUNC_PROTO).</summary>
    /// <param name="returnType">The return type (0 for void).</param>
    /// <param name="parameters">Parameters as (name, type id).</param>
    /// <returns>The new type id.</returns>
    public uint AddFunctionProto(uint returnType, params (string Name, uint TypeId)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        uint[] data = new uint[parameters.Length * 2];
        for (int i = 0; i < parameters.Length; i++)
        {
            data[2 * i] = Str(parameters[i].Name);
            data[(2 * i) + 1] = parameters[i].TypeId;
        }

        return Add(string.Empty, BtfKind.FunctionProto, parameters.Length, false, returnType, data);
    }

    /// <summary>Adds a function (BTF_KIND_FUNC).</summary>
    /// <param name="name">The name.</param>
    /// <param name="proto">Its FUNC_PROTO.</param>
    /// <param name="linkage">0 static, 1 global, 2 extern.</param>
    /// <returns>The new type id.</returns>
    public uint AddFunction(string name, uint proto, int linkage = 1) => Add(name, BtfKind.Function, linkage, false, proto);

    /// <summary>Adds a variable (BTF_KIND_VAR).</summary>
    /// <param name="name">The name.</param>
    /// <param name="type">Its type.</param>
    /// <param name="linkage">0 static, 1 global, 2 extern.</param>
    /// <returns>The new type id.</returns>
    public uint AddVariable(string name, uint type, uint linkage = 1) => Add(name, BtfKind.Variable, 0, false, type, linkage);

    /// <summary>Adds a data section (BTF_KIND_DATASEC).</summary>
    /// <param name="name">The section name, such as <c>.data</c>.</param>
    /// <param name="sizeBytes">The section size.</param>
    /// <param name="variables">The variables: VAR type id, byte offset, size.</param>
    /// <returns>The new type id.</returns>
    public uint AddDataSection(string name, int sizeBytes, params BtfSectionVariable[] variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        uint[] data = new uint[variables.Length * 3];
        for (int i = 0; i < variables.Length; i++)
        {
            data[3 * i] = variables[i].TypeId;
            data[(3 * i) + 1] = variables[i].Offset;
            data[(3 * i) + 2] = variables[i].Size;
        }

        return Add(name, BtfKind.DataSection, variables.Length, false, (uint)sizeBytes, data);
    }

    /// <summary>The raw blob: header, type section, string section.</summary>
    /// <returns>The bytes to pass to <see cref="BtfObject.Load"/> or <see cref="BtfSpec.Parse(byte[], BtfSpec?)"/>.</returns>
    public byte[] Build()
    {
        const int hdrLen = 24;
        byte[] blob = new byte[hdrLen + _types.Count + _strings.Count];
        var s = blob.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(s, BtfSpec.Magic);
        s[2] = 1; // version
        s[3] = 0; // flags
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], hdrLen);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)_strings.Count);
        _types.CopyTo(blob, hdrLen);
        _strings.CopyTo(blob, hdrLen + _types.Count);
        return blob;
    }

    private uint Add(string name, BtfKind kind, int vlen, bool kindFlag, uint sizeOrType, params ReadOnlySpan<uint> data)
    {
        if ((uint)vlen > 0xffffff)
        {
            throw new ArgumentOutOfRangeException(nameof(vlen), vlen, "BTF allows at most 2^24 - 1 members, values or parameters");
        }

        Put(Str(name));
        Put((kindFlag ? 0x80000000u : 0) | ((uint)kind << 24) | (uint)vlen);
        Put(sizeOrType);
        foreach (uint d in data)
        {
            Put(d);
        }

        return _nextId++;
    }

    private uint Str(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        BpfErrors.ThrowIfContainsNul(s, "name");
        if (_stringOffsets.TryGetValue(s, out uint off))
        {
            return off;
        }

        off = _stringBase + (uint)_strings.Count;
        _strings.AddRange(Encoding.UTF8.GetBytes(s));
        _strings.Add(0);
        _stringOffsets[s] = off;
        return off;
    }

    private void Put(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _types.AddRange(b);
    }
}

/// <summary>A member for <see cref="BtfBuilder.AddComposite"/>.</summary>
/// <param name="Name">The name; empty for an anonymous member.</param>
/// <param name="TypeId">The member's type.</param>
/// <param name="BitOffset">Offset from the start of the struct, in bits.</param>
/// <param name="BitfieldSize">Bits of a bitfield, or 0.</param>
public readonly record struct BtfBuilderMember(string Name, uint TypeId, uint BitOffset, int BitfieldSize = 0);

/// <summary>The extra encoding of a BTF integer.</summary>
[Flags]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The kernel's encoding names: BTF_INT_CHAR, BTF_INT_BOOL.")]
public enum BtfIntEncoding
{
    /// <summary>A plain integer.</summary>
    None = 0,
    /// <summary>BTF_INT_CHAR: a character type.</summary>
    Char = 2,
    /// <summary>BTF_INT_BOOL: a boolean.</summary>
    Bool = 4,
}
