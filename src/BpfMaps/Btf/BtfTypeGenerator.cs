using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace BpfMaps.Btf;

/// <summary>
/// Describes unmanaged C# types in BTF, so a map created from them carries its key and value layout the
/// way a map declared in BPF C does, and bpftool prints its entries with field names.
/// </summary>
/// <remarks>
/// <para>Each CLR type becomes one BTF type, added once (a second <see cref="Add(Type)"/> of the same type
/// returns the same id):</para>
/// <list type="bullet">
/// <item><description>integers become INT with C names: <c>unsigned char</c>, <c>signed char</c>, <c>short</c>,
/// <c>unsigned short</c>, <c>int</c>, <c>unsigned int</c>, <c>long long</c>, <c>unsigned long long</c>,
/// <c>long</c>/<c>unsigned long</c> (nint/nuint), <c>__int128</c>/<c>unsigned __int128</c>; <see cref="bool"/>
/// is the 1-byte <c>_Bool</c> with BOOL encoding; <see cref="char"/> is the 2-byte unsigned <c>char16_t</c>;</description></item>
/// <item><description><see cref="Half"/>, <see cref="float"/> and <see cref="double"/> become FLOAT (<c>_Float16</c>, <c>float</c>, <c>double</c>);</description></item>
/// <item><description>enums become ENUM with their member names, signed when the underlying type is, or ENUM64 (Linux 6.0)
/// when a 64-bit enum has a value that does not fit 32 bits;</description></item>
/// <item><description>pointers become PTR (<c>void*</c> and function pointers point to void; a pointer back to a struct
/// being described points to a forward declaration of it);</description></item>
/// <item><description>structs become STRUCT, named by the CLR type, with every instance field at the offset the runtime
/// gave it (sequential, explicit and auto layout, <c>Pack</c>, <c>Size</c>, overlapping <c>[FieldOffset]</c>s), named
/// as C# declares it (an auto-property's backing field by the property);</description></item>
/// <item><description><c>fixed</c> buffers and <see cref="System.Runtime.CompilerServices.InlineArrayAttribute"/> structs become
/// ARRAY of their element; with <see cref="BtfStringAttribute"/>, an array of the 1-byte <c>char</c>, printed as a string.</description></item>
/// </list>
/// <para>Names are made valid BTF identifiers: a character other than an ASCII letter, digit or '_' becomes '_',
/// and generic types are named after their arguments (<c>Pair_Int32_Int64</c>).</para>
/// </remarks>
public sealed class BtfTypeGenerator
{
    private const DynamicallyAccessedMemberTypes Fields = DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields;

    private readonly Dictionary<Type, uint> _ids = [];
    private readonly Dictionary<(uint Element, int Length), uint> _arrays = [];
    private readonly Dictionary<Type, uint> _forwards = [];
    private readonly HashSet<Type> _inProgress = [];
    private uint _char;

    /// <summary>Starts a standalone BTF blob.</summary>
    public BtfTypeGenerator()
        : this(new BtfBuilder())
    {
    }

    /// <summary>Adds the types to <paramref name="builder"/>, after whatever it already holds.</summary>
    /// <param name="builder">The builder to write into.</param>
    public BtfTypeGenerator(BtfBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Builder = builder;
    }

    /// <summary>The builder the types are written into.</summary>
    public BtfBuilder Builder { get; }

    /// <summary>Describes <typeparamref name="T"/>, and every type it contains, once.</summary>
    /// <typeparam name="T">An unmanaged type.</typeparam>
    /// <returns>The BTF type id of <typeparamref name="T"/>.</returns>
    /// <exception cref="ArgumentException">The type cannot be described (see <see cref="Add(Type)"/>).</exception>
    public uint Add<[DynamicallyAccessedMembers(Fields)] T>()
        where T : unmanaged
        => Add(typeof(T));

    /// <summary>Describes <paramref name="type"/>, and every type it contains, once.</summary>
    /// <param name="type">An unmanaged type: a primitive, an enum, a pointer, or a struct of those.</param>
    /// <returns>The BTF type id of <paramref name="type"/>.</returns>
    /// <exception cref="ArgumentException">A reference type or a struct with reference fields, a ref struct, an open
    /// generic type, a <see cref="BtfStringAttribute"/> on something other than a byte array, or nesting deeper
    /// than 64 levels; the message names the field.</exception>
    public uint Add([DynamicallyAccessedMembers(Fields)] Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return AddCore(type, 0);
    }

    /// <summary>The blob holding every type added so far.</summary>
    /// <returns>The BTF bytes, for <see cref="BtfSpec.Parse(byte[], BtfSpec?)"/> or <see cref="BtfObject.Load"/>.</returns>
    public byte[] Build() => Builder.Build();

    /// <summary>The BTF name of a struct or enum type: its CLR name made an identifier, with generic arguments appended.</summary>
    /// <param name="type">The type.</param>
    /// <returns>The name.</returns>
    internal static string TypeName(Type type)
    {
        string name = type.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        if (type.IsGenericType)
        {
            name += "_" + string.Join("_", type.GetGenericArguments().Select(TypeName));
        }

        return Identifier(name);
    }

    /// <summary>
    /// <paramref name="name"/> as a BTF identifier, which the kernel checks on struct, member and enum
    /// names: ASCII letters, digits and '_', not starting with a digit.
    /// </summary>
    /// <param name="name">A C# name.</param>
    /// <returns>The identifier.</returns>
    internal static string Identifier(string name)
    {
        var sb = new StringBuilder(name.Length + 1);
        foreach (char c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }

        return sb.ToString();
    }

    private uint AddCore(Type type, int depth)
    {
        if (_ids.TryGetValue(type, out uint known))
        {
            return known;
        }

        if (depth > ClrLayout.MaxDepth)
        {
            throw new ArgumentException($"{type} nests types deeper than {ClrLayout.MaxDepth} levels", nameof(type));
        }

        ClrLayout layout = ClrLayout.Of(type);
        uint id;
        switch (layout.Shape)
        {
            case ClrShape.Integer:
                id = Builder.AddInt(IntegerName(type), layout.Size, layout.IsSigned);
                break;
            case ClrShape.Boolean:
                id = Builder.AddInt("_Bool", 1, isSigned: false, BtfIntEncoding.Bool);
                break;
            case ClrShape.Character:
                id = Builder.AddInt("char16_t", 2, isSigned: false);
                break;
            case ClrShape.FloatingPoint:
                id = Builder.AddFloat(type == typeof(Half) ? "_Float16" : type == typeof(float) ? "float" : "double", layout.Size);
                break;
            case ClrShape.Enumeration:
                id = AddEnum(type, layout);
                break;
            case ClrShape.Pointer:
                id = Builder.AddPointer(layout.ElementType is not { } pointee ? 0
                    : _inProgress.Contains(pointee) ? Forward(pointee)
                    : AddCore(pointee, depth + 1));
                break;
            case ClrShape.InlineArray:
                id = layout.IsString ? CharArray(layout.Length) : ArrayOf(AddCore(layout.ElementType!, depth + 1), layout.Length);
                break;
            default:
                id = AddStruct(type, layout, depth);
                break;
        }

        _ids[type] = id;
        return id;
    }

    private uint AddStruct(Type type, ClrLayout layout, int depth)
    {
        _inProgress.Add(type);
        try
        {
            var members = new BtfBuilderMember[layout.Fields.Count];
            for (int i = 0; i < members.Length; i++)
            {
                ClrField f = layout.Fields[i];
                uint memberType = f.FixedLength > 0
                    ? f.IsString ? CharArray(f.FixedLength) : ArrayOf(AddCore(f.FieldType, depth + 1), f.FixedLength)
                    : f.IsString ? CharArray(ClrLayout.Of(f.FieldType).Length)
                    : AddCore(f.FieldType, depth + 1);
                members[i] = new BtfBuilderMember(Identifier(f.Name), memberType, (uint)f.Offset * 8);
            }

            return Builder.AddComposite(BtfKind.Struct, TypeName(type), layout.Size, members);
        }
        finally
        {
            _inProgress.Remove(type);
        }
    }

    private uint AddEnum(Type type, ClrLayout layout)
    {
        string[] names = Enum.GetNames(type);
        Array raw = Enum.GetValuesAsUnderlyingType(type);
        var values = new ulong[names.Length];
        bool fits32 = true;
        for (int i = 0; i < values.Length; i++)
        {
            object? v = raw.GetValue(i);
            (values[i], bool fits) = v switch
            {
                sbyte x => ((ulong)x, true),
                short x => ((ulong)x, true),
                int x => ((ulong)x, true),
                long x => ((ulong)x, x is >= int.MinValue and <= int.MaxValue),
                nint x => ((ulong)x, x >= int.MinValue && x <= int.MaxValue),
                byte x => ((ulong)x, true),
                ushort x => ((ulong)x, true),
                uint x => ((ulong)x, true),
                ulong x => (x, x <= uint.MaxValue),
                nuint x => ((ulong)x, x <= uint.MaxValue),
                _ => throw new ArgumentException($"enum {type} has underlying type {layout.ElementType}, which BTF enums cannot hold", nameof(type)),
            };
            fits32 &= fits;
        }

        string name = TypeName(type);
        if (fits32)
        {
            var values32 = new (string, int)[names.Length];
            for (int i = 0; i < names.Length; i++)
            {
                values32[i] = (Identifier(names[i]), unchecked((int)values[i]));
            }

            return Builder.AddEnum(name, layout.Size, layout.IsSigned, values32);
        }

        var values64 = new (string, ulong)[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            values64[i] = (Identifier(names[i]), values[i]);
        }

        return Builder.AddEnum64(name, layout.Size, layout.IsSigned, values64);
    }

    private uint Forward(Type type)
    {
        if (!_forwards.TryGetValue(type, out uint id))
        {
            id = Builder.AddForward(TypeName(type), isUnion: false);
            _forwards[type] = id;
        }

        return id;
    }

    private uint CharArray(int length)
    {
        if (_char == 0)
        {
            // bpftool prints an array as a string when its element is a 1-byte int named "char" (or
            // CHAR-encoded), as clang emits C's char: signed, no CHAR encoding.
            _char = Builder.AddInt("char", 1, isSigned: true);
        }

        return ArrayOf(_char, length);
    }

    private uint ArrayOf(uint element, int length)
    {
        if (!_arrays.TryGetValue((element, length), out uint id))
        {
            id = Builder.AddArray(element, AddCore(typeof(uint), 0), (uint)length);
            _arrays[(element, length)] = id;
        }

        return id;
    }

    private static string IntegerName(Type t)
        => t == typeof(byte) ? "unsigned char"
            : t == typeof(sbyte) ? "signed char"
            : t == typeof(short) ? "short"
            : t == typeof(ushort) ? "unsigned short"
            : t == typeof(int) ? "int"
            : t == typeof(uint) ? "unsigned int"
            : t == typeof(long) ? "long long"
            : t == typeof(ulong) ? "unsigned long long"
            : t == typeof(nint) ? "long"
            : t == typeof(nuint) ? "unsigned long"
            : t == typeof(Int128) ? "__int128"
            : "unsigned __int128";
}
