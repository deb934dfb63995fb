using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps.Btf;

/// <summary>The shape of an unmanaged CLR type, as far as BTF cares.</summary>
internal enum ClrShape
{
    /// <summary>sbyte … ulong, nint, nuint, Int128, UInt128.</summary>
    Integer,

    /// <summary>bool.</summary>
    Boolean,

    /// <summary>char (UTF-16).</summary>
    Character,

    /// <summary>Half, float, double.</summary>
    FloatingPoint,

    /// <summary>An enum; <see cref="ClrLayout.ElementType"/> is its underlying type.</summary>
    Enumeration,

    /// <summary>A data or function pointer; <see cref="ClrLayout.ElementType"/> is the pointee, or null for void and functions.</summary>
    Pointer,

    /// <summary>An [InlineArray] struct; <see cref="ClrLayout.ElementType"/> and <see cref="ClrLayout.Length"/> describe it.</summary>
    InlineArray,

    /// <summary>Any other struct; <see cref="ClrLayout.Fields"/> lists its fields.</summary>
    Struct,
}

/// <summary>One instance field of a struct, where it really is.</summary>
/// <param name="Name">The name as C# declares it (an auto-property's name for its backing field).</param>
/// <param name="FieldType">The field's type; for a <c>fixed</c> buffer, the element type.</param>
/// <param name="Offset">Byte offset in the struct, as the runtime laid it out.</param>
/// <param name="Size">Bytes the field occupies.</param>
/// <param name="FixedLength">Elements of a <c>fixed</c> buffer, or 0 for any other field.</param>
/// <param name="IsString">Whether the field is marked <see cref="BtfStringAttribute"/>.</param>
internal sealed record ClrField(string Name, Type FieldType, int Offset, int Size, int FixedLength, bool IsString);

/// <summary>
/// The memory layout of an unmanaged CLR type, measured rather than computed. Offsets come from the
/// runtime itself: each field in turn is set to all-ones bytes in a zeroed box and the first byte that
/// changed is its offset. That makes sequential, explicit and auto layout, <c>Pack</c>, <c>Size</c>,
/// <c>bool</c>, <c>char</c> and the 16-byte alignment of <see cref="Int128"/> come out exactly as the
/// runtime has them, where <see cref="Marshal.OffsetOf(Type, string)"/> reports the marshalled layout
/// (4-byte bools, 1-byte chars). Measured once per type and kept.
/// </summary>
internal sealed class ClrLayout
{
    // Unmanaged structs cannot contain themselves; a deeper nesting is a malformed type, not a real one.
    internal const int MaxDepth = 64;

    private const BindingFlags InstanceFields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static readonly ConcurrentDictionary<Type, ClrLayout> s_cache = new();

    private ClrLayout(Type type, int size, ClrShape shape)
    {
        Type = type;
        Size = size;
        Shape = shape;
    }

    /// <summary>The type.</summary>
    public Type Type { get; }

    /// <summary>Its size in bytes, as <c>Unsafe.SizeOf</c> reports it.</summary>
    public int Size { get; }

    /// <summary>What kind of type it is.</summary>
    public ClrShape Shape { get; }

    /// <summary>Instance fields by ascending offset (declaration order among equal offsets); empty unless a struct.</summary>
    public IReadOnlyList<ClrField> Fields { get; private init; } = [];

    /// <summary>An enum's underlying type, a pointer's pointee (null for void and function pointers), an inline array's element.</summary>
    public Type? ElementType { get; private init; }

    /// <summary>Elements of an inline array.</summary>
    public int Length { get; private init; }

    /// <summary>Whether values are signed (integers, enums).</summary>
    public bool IsSigned { get; private init; }

    /// <summary>Whether the type itself is marked <see cref="BtfStringAttribute"/>.</summary>
    public bool IsString { get; private init; }

    /// <summary>Describes <paramref name="type"/>.</summary>
    /// <remarks>
    /// Reflection reads the fields of the type and of the structs in it. The public entry points annotate the
    /// types they are given, so the trimmer keeps their fields; the trimmer keeps every field of a value type
    /// with sequential or explicit layout anyway, because the layout depends on them. A struct whose fields
    /// reflection cannot see at all (no fields, but more than one byte) is refused rather than described empty.
    /// </remarks>
    /// <param name="type">An unmanaged type.</param>
    /// <returns>Its layout.</returns>
    /// <exception cref="ArgumentException">A reference type, a type with reference fields, a ref struct, an open generic type.</exception>
    public static ClrLayout Of(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Of(type, 0);
    }

    /// <summary>The name C# gives a field: an auto-property's backing field <c>&lt;X&gt;k__BackingField</c> is <c>X</c>.</summary>
    internal static string DeclaredName(string fieldName)
    {
        const string suffix = ">k__BackingField";
        return fieldName.StartsWith('<') && fieldName.EndsWith(suffix, StringComparison.Ordinal)
            ? fieldName[1..^suffix.Length]
            : fieldName;
    }

    private static ClrLayout Of(Type type, int depth)
    {
        if (s_cache.TryGetValue(type, out ClrLayout? known))
        {
            return known;
        }

        if (depth > MaxDepth)
        {
            throw new ArgumentException($"{type} nests structs deeper than {MaxDepth} levels", nameof(type));
        }

        ClrLayout layout = Measure(type, depth);
        s_cache.TryAdd(type, layout);
        return layout;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "See Of(Type): value types keep their fields when trimmed, and a struct whose fields are all gone is refused.")]
    private static ClrLayout Measure(Type type, int depth)
    {
        if (type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer)
        {
            Type? pointee = type.IsPointer ? type.GetElementType() : null;
            return new ClrLayout(type, IntPtr.Size, ClrShape.Pointer) { ElementType = pointee == typeof(void) ? null : pointee };
        }

        if (!type.IsValueType)
        {
            throw new ArgumentException($"{type} is a reference type; BTF describes unmanaged value types only", nameof(type));
        }

        if (type.IsByRefLike)
        {
            throw new ArgumentException($"{type} is a ref struct; BTF describes unmanaged value types only", nameof(type));
        }

        if (type.ContainsGenericParameters)
        {
            throw new ArgumentException($"{type} is an open generic type", nameof(type));
        }

        if (type.IsEnum)
        {
            Type underlying = Enum.GetUnderlyingType(type);
            return new ClrLayout(type, SizeOf(underlying), ClrShape.Enumeration) { ElementType = underlying, IsSigned = IsSignedInteger(underlying) };
        }

        if (Primitive(type) is { } primitive)
        {
            return primitive;
        }

        int size = SizeOf(type);
        bool isString = type.IsDefined(typeof(BtfStringAttribute), inherit: false);
        FieldInfo[] fields = type.GetFields(InstanceFields);
        if (type.GetCustomAttribute<InlineArrayAttribute>() is { } inline)
        {
            if (fields.Length != 1)
            {
                throw new ArgumentException($"inline array {type} has {fields.Length} instance fields; it needs exactly one", nameof(type));
            }

            ClrLayout element = Of(fields[0].FieldType, depth + 1);
            CheckString(isString, element, $"inline array {type}");
            return new ClrLayout(type, size, ClrShape.InlineArray) { ElementType = element.Type, Length = inline.Length, IsString = isString };
        }

        if (isString)
        {
            throw new ArgumentException($"{type} is marked [BtfString] but is not an inline array of byte or sbyte", nameof(type));
        }

        if (fields.Length == 0 && size > 1)
        {
            throw new ArgumentException($"{type} is {size} bytes but reflection shows none of its fields (were they trimmed away?)", nameof(type));
        }

        // Every field's type is described (and a reference field refused) before any is set in the probe
        // box; the offsets are filled in from the probe.
        var measured = new List<ClrField>(fields.Length);
        var described = fields.Select(f => Field(type, f, depth)).ToArray();
        foreach ((int i, int offset) in Offsets(type, size, fields))
        {
            measured.Add(described[i] with { Offset = offset });
        }

        // Stable: fields at the same offset (explicit layout) keep declaration order.
        return new ClrLayout(type, size, ClrShape.Struct) { Fields = [.. measured.OrderBy(f => f.Offset)] };
    }

    private static ClrField Field(Type type, FieldInfo field, int depth)
    {
        string name = DeclaredName(field.Name);
        bool isString = field.IsDefined(typeof(BtfStringAttribute), inherit: false);
        if (field.GetCustomAttribute<FixedBufferAttribute>() is { } fixedBuffer)
        {
            ClrLayout element = Of(fixedBuffer.ElementType, depth + 1);
            CheckString(isString, element, $"fixed buffer '{name}' of {type}");
            return new ClrField(name, element.Type, Offset: -1, element.Size * fixedBuffer.Length, fixedBuffer.Length, isString);
        }

        ClrLayout layout;
        try
        {
            layout = Of(field.FieldType, depth + 1);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"field '{name}' of {type}: {e.Message}", nameof(type), e);
        }

        if (isString && layout.Shape != ClrShape.InlineArray)
        {
            throw new ArgumentException($"field '{name}' of {type} is marked [BtfString] but is {field.FieldType.Name}, not a fixed buffer or inline array of byte or sbyte", nameof(type));
        }

        if (isString)
        {
            CheckString(true, Of(layout.ElementType!, depth + 1), $"field '{name}' of {type}");
        }

        return new ClrField(name, field.FieldType, Offset: -1, layout.Size, FixedLength: 0, isString);
    }

    private static void CheckString(bool isString, ClrLayout element, string what)
    {
        if (isString && element.Type != typeof(byte) && element.Type != typeof(sbyte))
        {
            throw new ArgumentException($"{what} is marked [BtfString] but its elements are {element.Type.Name}; strings are byte or sbyte arrays", nameof(element));
        }
    }

    /// <summary>Sets each field to all-ones bytes in a zeroed box, one at a time, and reads where the bytes changed.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "Only value types reach here, and boxing one uninitialized runs no constructor.")]
    private static List<(int Index, int Offset)> Offsets(Type type, int size, FieldInfo[] fields)
    {
        var result = new List<(int, int)>(fields.Length);
        object box = RuntimeHelpers.GetUninitializedObject(type);
        for (int i = 0; i < fields.Length; i++)
        {
            FieldInfo field = fields[i];
            Bytes(box, size).Clear();
            field.SetValue(box, AllOnes(field.FieldType));
            int offset = Bytes(box, size).IndexOfAnyExcept((byte)0);
            if (offset < 0)
            {
                throw new InvalidOperationException($"could not find field '{field.Name}' of {type} in its bytes");
            }

            result.Add((i, offset));
        }

        return result;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "Only value types reach here, and boxing one uninitialized runs no constructor.")]
    private static unsafe object AllOnes(Type type)
    {
        if (type.IsPointer)
        {
            return Pointer.Box((void*)-1, type);
        }

        if (type.IsFunctionPointer || type.IsUnmanagedFunctionPointer)
        {
            return (nint)(-1);
        }

        object value = RuntimeHelpers.GetUninitializedObject(type);
        Bytes(value, SizeOf(type)).Fill(0xff);
        return value;
    }

    /// <summary>The bytes of a boxed value: in every .NET runtime they follow the object header, where a class's first field is.</summary>
    private static Span<byte> Bytes(object box, int size) => MemoryMarshal.CreateSpan(ref Unsafe.As<RawBox>(box).Data, size);

    private static int SizeOf(Type type) => type.IsPointer || type.IsFunctionPointer ? IntPtr.Size : RuntimeHelpers.SizeOf(type.TypeHandle);

    private static ClrLayout? Primitive(Type type)
    {
        if (type == typeof(bool))
        {
            return new ClrLayout(type, 1, ClrShape.Boolean);
        }

        if (type == typeof(char))
        {
            return new ClrLayout(type, 2, ClrShape.Character);
        }

        if (type == typeof(Half) || type == typeof(float) || type == typeof(double))
        {
            return new ClrLayout(type, SizeOf(type), ClrShape.FloatingPoint) { IsSigned = true };
        }

        if (IsInteger(type))
        {
            return new ClrLayout(type, SizeOf(type), ClrShape.Integer) { IsSigned = IsSignedInteger(type) };
        }

        return null;
    }

    private static bool IsInteger(Type t)
        => t == typeof(byte) || t == typeof(sbyte) || t == typeof(short) || t == typeof(ushort) || t == typeof(int) || t == typeof(uint)
            || t == typeof(long) || t == typeof(ulong) || t == typeof(nint) || t == typeof(nuint) || t == typeof(Int128) || t == typeof(UInt128);

    private static bool IsSignedInteger(Type t)
        => t == typeof(sbyte) || t == typeof(short) || t == typeof(int) || t == typeof(long) || t == typeof(nint) || t == typeof(Int128);

    private sealed class RawBox
    {
#pragma warning disable CS0649 // never assigned: only its address is used
        public byte Data;
#pragma warning restore CS0649
    }
}
