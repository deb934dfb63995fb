namespace BpfMaps.Btf;

/// <summary>
/// A view of one type record of a <see cref="BtfSpec"/>. It holds the spec and the record's position,
/// and decodes fields on access; copying it copies two references' worth. Which properties mean
/// something depends on <see cref="Kind"/>, as in <c>struct btf_type</c>.
/// </summary>
public readonly struct BtfType : IEquatable<BtfType>
{
    private readonly int _offset;

    internal BtfType(BtfSpec spec, uint id, int offset)
    {
        Spec = spec;
        Id = id;
        _offset = offset;
    }

    /// <summary>The BTF this type belongs to.</summary>
    public BtfSpec Spec { get; }

    /// <summary>The type id; 0 is void.</summary>
    public uint Id { get; }

    /// <summary>The kind, or <see cref="BtfKind.Void"/> for id 0.</summary>
    public BtfKind Kind => _offset < 0 ? BtfKind.Void : (BtfKind)((Info >> 24) & 0x1f);

    /// <summary>The string offset of the name (0 when anonymous).</summary>
    public uint NameOffset => _offset < 0 ? 0 : Spec.ReadU32(_offset);

    /// <summary>The name; empty when anonymous.</summary>
    public string Name => NameOffset == 0 ? string.Empty : Spec.GetString(NameOffset);

    /// <summary>
    /// The vlen field: members, enumerators, parameters or variables; a function's linkage. Read as 24 bits:
    /// kernels before 2026 allow 16 and refuse BTF with bits 16 to 23 set, later ones use them for vlen.
    /// </summary>
    public int Vlen => _offset < 0 ? 0 : (int)(Info & 0xffffff);

    /// <summary>
    /// The kind_flag bit: for structs and unions, member offsets carry bitfield sizes; for forward
    /// declarations, a union; for enums, signed values; for decl tags, an attribute.
    /// </summary>
    public bool KindFlag => _offset >= 0 && (Info & 0x80000000) != 0;

    /// <summary>The size field of sized kinds (int, enum, struct, union, float, datasec).</summary>
    public uint Size => _offset < 0 ? 0 : Spec.ReadU32(_offset + 8);

    /// <summary>The type field of referring kinds (pointer, modifiers, typedef, func, func_proto's return, var, decl/type tag).</summary>
    public uint Type => _offset < 0 ? 0 : Spec.ReadU32(_offset + 8);

    /// <summary>For <see cref="BtfKind.Int"/>: whether it is signed.</summary>
    public bool IsSigned => Kind == BtfKind.Int ? (IntEncoding & 1) != 0 : KindFlag && Kind is BtfKind.Enum or BtfKind.Enum64;

    /// <summary>For <see cref="BtfKind.Int"/>: whether it is a char (BTF_INT_CHAR).</summary>
    public bool IsChar => Kind == BtfKind.Int && (IntEncoding & 2) != 0;

    /// <summary>For <see cref="BtfKind.Int"/>: whether it is a bool (BTF_INT_BOOL).</summary>
    public bool IsBool => Kind == BtfKind.Int && (IntEncoding & 4) != 0;

    /// <summary>For <see cref="BtfKind.Int"/>: the bit offset of the value within its bytes.</summary>
    public int IntBitOffset => Kind == BtfKind.Int ? (int)((IntData >> 16) & 0xff) : 0;

    /// <summary>For <see cref="BtfKind.Int"/>: the number of bits that hold the value.</summary>
    public int IntBits => Kind == BtfKind.Int ? (int)(IntData & 0xff) : 0;

    /// <summary>For <see cref="BtfKind.Array"/>: the element type id.</summary>
    public uint ArrayElementType => RequireKind(BtfKind.Array) ? Spec.ReadU32(_offset + 12) : 0;

    /// <summary>For <see cref="BtfKind.Array"/>: the index type id.</summary>
    public uint ArrayIndexType => RequireKind(BtfKind.Array) ? Spec.ReadU32(_offset + 16) : 0;

    /// <summary>For <see cref="BtfKind.Array"/>: the number of elements.</summary>
    public uint ArrayLength => RequireKind(BtfKind.Array) ? Spec.ReadU32(_offset + 20) : 0;

    /// <summary>For <see cref="BtfKind.Variable"/>: the linkage (0 static, 1 global, 2 extern).</summary>
    public uint VariableLinkage => RequireKind(BtfKind.Variable) ? Spec.ReadU32(_offset + 12) : 0;

    /// <summary>For <see cref="BtfKind.DeclTag"/>: the member or parameter index the tag is on, or -1 for the declaration itself.</summary>
    public int DeclTagComponentIndex => RequireKind(BtfKind.DeclTag) ? (int)Spec.ReadU32(_offset + 12) : -1;

    private uint Info => Spec.ReadU32(_offset + 4);

    private uint IntData => Spec.ReadU32(_offset + 12);

    /// <summary>
    /// For <see cref="BtfKind.Int"/>: the raw encoding bits (<c>BTF_INT_ENCODING</c>): 0, or one of 1 (signed),
    /// 2 (char), 4 (bool); <see cref="IsSigned"/>, <see cref="IsChar"/> and <see cref="IsBool"/> read them one by one.
    /// </summary>
    public int IntEncoding => Kind == BtfKind.Int ? (int)((IntData >> 24) & 0x0f) : 0;

    /// <summary>Member <paramref name="index"/> of a struct or union.</summary>
    /// <param name="index">0 to <see cref="Vlen"/> - 1.</param>
    /// <returns>The member.</returns>
    /// <exception cref="InvalidOperationException">Not a struct or union.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No such member.</exception>
    public BtfMember Member(int index)
    {
        RequireKinds(BtfKind.Struct, BtfKind.Union);
        CheckIndex(index);
        int o = _offset + 12 + (12 * index);
        uint offset = Spec.ReadU32(o + 8);
        return KindFlag
            ? new BtfMember(Spec, Spec.ReadU32(o), Spec.ReadU32(o + 4), offset & 0xffffff, (int)(offset >> 24))
            : new BtfMember(Spec, Spec.ReadU32(o), Spec.ReadU32(o + 4), offset, 0);
    }

    /// <summary>Enumerator <paramref name="index"/> of an enum or enum64; its value is sign-extended when the enum is signed.</summary>
    /// <param name="index">0 to <see cref="Vlen"/> - 1.</param>
    /// <returns>The enumerator.</returns>
    /// <exception cref="InvalidOperationException">Not an enum.</exception>
    public BtfEnumValue EnumValue(int index)
    {
        RequireKinds(BtfKind.Enum, BtfKind.Enum64);
        CheckIndex(index);
        if (Kind == BtfKind.Enum)
        {
            int o = _offset + 12 + (8 * index);
            uint raw = Spec.ReadU32(o + 4);
            return new BtfEnumValue(Spec, Spec.ReadU32(o), KindFlag ? (ulong)(long)(int)raw : raw);
        }

        int p = _offset + 12 + (12 * index);
        return new BtfEnumValue(Spec, Spec.ReadU32(p), Spec.ReadU32(p + 4) | ((ulong)Spec.ReadU32(p + 8) << 32));
    }

    /// <summary>Parameter <paramref name="index"/> of a function prototype.</summary>
    /// <param name="index">0 to <see cref="Vlen"/> - 1.</param>
    /// <returns>The parameter.</returns>
    /// <exception cref="InvalidOperationException">Not a function prototype.</exception>
    public BtfParameter Parameter(int index)
    {
        RequireKinds(BtfKind.FunctionProto, BtfKind.FunctionProto);
        CheckIndex(index);
        int o = _offset + 12 + (8 * index);
        return new BtfParameter(Spec, Spec.ReadU32(o), Spec.ReadU32(o + 4));
    }

    /// <summary>Variable <paramref name="index"/> of a data section.</summary>
    /// <param name="index">0 to <see cref="Vlen"/> - 1.</param>
    /// <returns>The variable's type, offset and size.</returns>
    /// <exception cref="InvalidOperationException">Not a data section.</exception>
    public BtfSectionVariable SectionVariable(int index)
    {
        RequireKinds(BtfKind.DataSection, BtfKind.DataSection);
        CheckIndex(index);
        int o = _offset + 12 + (12 * index);
        return new BtfSectionVariable(Spec.ReadU32(o), Spec.ReadU32(o + 4), Spec.ReadU32(o + 8));
    }

    /// <inheritdoc />
    public bool Equals(BtfType other) => ReferenceEquals(Spec, other.Spec) && Id == other.Id;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is BtfType t && Equals(t);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Spec, Id);

    /// <summary>Whether two views are of the same type of the same spec.</summary>
    /// <param name="left">One view.</param>
    /// <param name="right">The other.</param>
    /// <returns>True when equal.</returns>
    public static bool operator ==(BtfType left, BtfType right) => left.Equals(right);

    /// <summary>Whether two views differ.</summary>
    /// <param name="left">One view.</param>
    /// <param name="right">The other.</param>
    /// <returns>True when not equal.</returns>
    public static bool operator !=(BtfType left, BtfType right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Spec is null ? "(none)" : $"[{Id}] {Kind.KernelName()} '{Name}'";

    private bool RequireKind(BtfKind kind)
    {
        if (Kind != kind)
        {
            throw new InvalidOperationException($"type id {Id} is {Kind.KernelName()}, not {kind.KernelName()}");
        }

        return true;
    }

    private void RequireKinds(BtfKind a, BtfKind b)
    {
        if (Kind != a && Kind != b)
        {
            throw new InvalidOperationException($"type id {Id} is {Kind.KernelName()}, not {a.KernelName()}{(a == b ? "" : $" or {b.KernelName()}")}");
        }
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Vlen)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"type id {Id} has {Vlen} entries");
        }
    }
}

/// <summary>A member of a struct or union.</summary>
/// <param name="Spec">The BTF.</param>
/// <param name="NameOffset">String offset of the name (0 for an anonymous member).</param>
/// <param name="TypeId">The member's type.</param>
/// <param name="BitOffset">Offset from the start of the struct, in bits.</param>
/// <param name="BitfieldSize">Bits of a bitfield member (kind_flag encoding), or 0 when not given that way.</param>
public readonly record struct BtfMember(BtfSpec Spec, uint NameOffset, uint TypeId, uint BitOffset, int BitfieldSize)
{
    /// <summary>The name; empty for an anonymous member.</summary>
    public string Name => NameOffset == 0 ? string.Empty : Spec.GetString(NameOffset);
}

/// <summary>An enumerator of an enum or enum64.</summary>
/// <param name="Spec">The BTF.</param>
/// <param name="NameOffset">String offset of the name.</param>
/// <param name="Value">The value's 64 bits (sign-extended for signed 32-bit enums).</param>
public readonly record struct BtfEnumValue(BtfSpec Spec, uint NameOffset, ulong Value)
{
    /// <summary>The name.</summary>
    public string Name => Spec.GetString(NameOffset);
}

/// <summary>A parameter of a function prototype.</summary>
/// <param name="Spec">The BTF.</param>
/// <param name="NameOffset">String offset of the name (0 when unnamed).</param>
/// <param name="TypeId">The parameter's type (0 for a trailing <c>...</c>).</param>
public readonly record struct BtfParameter(BtfSpec Spec, uint NameOffset, uint TypeId)
{
    /// <summary>The name; empty when unnamed.</summary>
    public string Name => NameOffset == 0 ? string.Empty : Spec.GetString(NameOffset);
}

/// <summary>A variable's place in a data section.</summary>
/// <param name="TypeId">The VAR type.</param>
/// <param name="Offset">Byte offset within the section.</param>
/// <param name="Size">Bytes.</param>
public readonly record struct BtfSectionVariable(uint TypeId, uint Offset, uint Size);
