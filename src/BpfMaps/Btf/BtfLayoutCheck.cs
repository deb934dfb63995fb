namespace BpfMaps.Btf;

/// <summary>
/// Compares an unmanaged C# type with a BTF type, member by member: the check typed map views make when a
/// map has BTF. Fields are matched to BTF members by name (exactly, or else ignoring case and '_' when that
/// finds exactly one member, so <c>PacketCount</c> meets <c>packet_count</c>; members of anonymous structs and
/// unions count as members of the struct around them). A field with no member of its name is not compared.
/// Nested structs and array elements are compared the same way.
/// </summary>
internal static class BtfLayoutCheck
{
    /// <summary>The first field of <paramref name="clrType"/> whose offset or size differs from its BTF member, described; or null.</summary>
    /// <param name="clrType">The C# type.</param>
    /// <param name="btf">The BTF type it should match.</param>
    /// <returns>A message naming the field and the member, or null when they match (or the C# type cannot be described).</returns>
    /// <exception cref="BtfException">The BTF is malformed.</exception>
    public static string? FindMismatch(Type clrType, BtfType btf)
    {
        ClrLayout layout;
        try
        {
            layout = ClrLayout.Of(clrType);
        }
        catch (ArgumentException)
        {
            return null; // nothing to compare: the view's size check still holds
        }

        return Compare(layout, btf.Spec, btf.Id, "", 0);
    }

    private static string? Compare(ClrLayout clr, BtfSpec spec, uint typeId, string path, int depth)
    {
        if (depth > ClrLayout.MaxDepth)
        {
            return null;
        }

        BtfType t = spec.ResolveModifiers(typeId);
        if (clr.Shape == ClrShape.InlineArray && t.Kind == BtfKind.Array)
        {
            return CompareElements(ClrLayout.Of(clr.ElementType!), clr.Type.Name, path.TrimEnd('.'), "", t, depth);
        }

        if (clr.Shape != ClrShape.Struct || t.Kind is not (BtfKind.Struct or BtfKind.Union))
        {
            return null;
        }

        List<FlatMember> members = Flatten(t, 0, [], 0);
        foreach (ClrField f in clr.Fields)
        {
            if (Find(members, f.Name) is not { } m)
            {
                continue;
            }

            string field = path + f.Name;
            string member = $"BTF member '{m.Member.Name}' of {Describe(m.Owner)}";
            if (m.Member.BitfieldSize != 0 || m.BitOffset % 8 != 0)
            {
                return $"field '{field}' is at offset {f.Offset} in {clr.Type.Name} but {member} is a bitfield at bit {m.BitOffset}";
            }

            long offset = m.BitOffset / 8;
            if (offset != f.Offset)
            {
                return $"field '{field}' is at offset {f.Offset} in {clr.Type.Name} but {member} is at offset {offset}";
            }

            long size = spec.SizeOf(m.Member.TypeId);
            if (size != f.Size)
            {
                return $"field '{field}' is {f.Size} bytes in {clr.Type.Name} but {member} is {size} bytes";
            }

            string? inner;
            if (f.FixedLength > 0)
            {
                BtfType array = spec.ResolveModifiers(m.Member.TypeId);
                inner = array.Kind == BtfKind.Array ? CompareElements(ClrLayout.Of(f.FieldType), clr.Type.Name, field, member, array, depth) : null;
            }
            else
            {
                ClrLayout fieldLayout = ClrLayout.Of(f.FieldType);
                BtfType resolved = spec.ResolveModifiers(m.Member.TypeId);
                inner = fieldLayout.Shape == ClrShape.InlineArray && resolved.Kind == BtfKind.Array
                    ? CompareElements(ClrLayout.Of(fieldLayout.ElementType!), clr.Type.Name, field, member, resolved, depth)
                    : Compare(fieldLayout, spec, m.Member.TypeId, field + ".", depth + 1);
            }

            if (inner is not null)
            {
                return inner;
            }
        }

        return null;
    }

    private static string? CompareElements(ClrLayout element, string owner, string field, string member, BtfType array, int depth)
    {
        long btfElement = array.Spec.SizeOf(array.ArrayElementType);
        if (btfElement != element.Size)
        {
            return field.Length == 0
                ? $"{owner} has {element.Size}-byte elements but BTF array [{array.Id}] has {btfElement}-byte elements"
                : $"field '{field}' has {element.Size}-byte elements in {owner} but {member} has {btfElement}-byte elements";
        }

        return Compare(element, array.Spec, array.ArrayElementType, field + "[0].", depth + 1);
    }

    private static FlatMember? Find(List<FlatMember> members, string name)
    {
        string identifier = BtfTypeGenerator.Identifier(name);
        foreach (FlatMember m in members)
        {
            string n = m.Member.Name;
            if (n == name || n == identifier)
            {
                return m;
            }
        }

        FlatMember? found = null;
        string wanted = Normalize(name);
        foreach (FlatMember m in members)
        {
            if (m.Member.NameOffset != 0 && Normalize(m.Member.Name) == wanted)
            {
                if (found is not null)
                {
                    return null; // ambiguous: not compared
                }

                found = m;
            }
        }

        return found;
    }

    private static string Normalize(string name) => name.Replace("_", "", StringComparison.Ordinal).ToUpperInvariant();

    private static List<FlatMember> Flatten(BtfType t, long baseBits, List<FlatMember> into, int depth)
    {
        for (int i = 0; i < t.Vlen; i++)
        {
            BtfMember m = t.Member(i);
            long bits = baseBits + m.BitOffset;
            if (m.NameOffset == 0)
            {
                BtfType inner = t.Spec.ResolveModifiers(m.TypeId);
                if (inner.Kind is BtfKind.Struct or BtfKind.Union && depth < ClrLayout.MaxDepth)
                {
                    Flatten(inner, bits, into, depth + 1);
                }

                continue;
            }

            into.Add(new FlatMember(m, bits, t));
        }

        return into;
    }

    private static string Describe(BtfType t)
        => $"{(t.Kind == BtfKind.Union ? "union" : "struct")} {(t.NameOffset == 0 ? "(anon)" : t.Name)}";

    private readonly record struct FlatMember(BtfMember Member, long BitOffset, BtfType Owner);
}
