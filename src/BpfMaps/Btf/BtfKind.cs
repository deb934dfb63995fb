namespace BpfMaps.Btf;

/// <summary>The kind of a BTF type (<c>BTF_KIND_*</c> in include/uapi/linux/btf.h).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The kernel's kind names: INT, PTR, FLOAT.")]
public enum BtfKind : byte
{
    /// <summary>Type id 0: <c>void</c>. No record in the type section has this kind.</summary>
    Void = 0,
    /// <summary>BTF_KIND_INT: an integer, bool or char, with its bit width and bit offset.</summary>
    Int = 1,
    /// <summary>BTF_KIND_PTR.</summary>
    Pointer = 2,
    /// <summary>BTF_KIND_ARRAY.</summary>
    Array = 3,
    /// <summary>BTF_KIND_STRUCT.</summary>
    Struct = 4,
    /// <summary>BTF_KIND_UNION.</summary>
    Union = 5,
    /// <summary>BTF_KIND_ENUM: enumerators of up to 32 bits.</summary>
    Enum = 6,
    /// <summary>BTF_KIND_FWD: a struct or union declared but not defined.</summary>
    Forward = 7,
    /// <summary>BTF_KIND_TYPEDEF.</summary>
    Typedef = 8,
    /// <summary>BTF_KIND_VOLATILE.</summary>
    Volatile = 9,
    /// <summary>BTF_KIND_CONST.</summary>
    Const = 10,
    /// <summary>BTF_KIND_RESTRICT.</summary>
    Restrict = 11,
    /// <summary>BTF_KIND_FUNC: a function, its linkage, and its prototype.</summary>
    Function = 12,
    /// <summary>BTF_KIND_FUNC_PROTO: a return type and parameters.</summary>
    FunctionProto = 13,
    /// <summary>BTF_KIND_VAR: a global variable.</summary>
    Variable = 14,
    /// <summary>BTF_KIND_DATASEC: a data section (.bss, .data, .rodata, ...) and the variables in it.</summary>
    DataSection = 15,
    /// <summary>BTF_KIND_FLOAT (Linux 5.13).</summary>
    Float = 16,
    /// <summary>BTF_KIND_DECL_TAG (Linux 5.16): a string attached to a declaration.</summary>
    DeclTag = 17,
    /// <summary>BTF_KIND_TYPE_TAG (Linux 5.17): a string attached to a pointee type.</summary>
    TypeTag = 18,
    /// <summary>BTF_KIND_ENUM64 (Linux 6.0): enumerators of up to 64 bits.</summary>
    Enum64 = 19,
}

/// <summary>Extensions on <see cref="BtfKind"/>.</summary>
public static class BtfKindExtensions
{
    /// <summary>bpftool's and the kernel's upper-case name of the kind, such as <c>STRUCT</c> or <c>FUNC_PROTO</c>.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The name.</returns>
    public static string KernelName(this BtfKind kind) => kind switch
    {
        BtfKind.Void => "UNKN",
        BtfKind.Int => "INT",
        BtfKind.Pointer => "PTR",
        BtfKind.Array => "ARRAY",
        BtfKind.Struct => "STRUCT",
        BtfKind.Union => "UNION",
        BtfKind.Enum => "ENUM",
        BtfKind.Forward => "FWD",
        BtfKind.Typedef => "TYPEDEF",
        BtfKind.Volatile => "VOLATILE",
        BtfKind.Const => "CONST",
        BtfKind.Restrict => "RESTRICT",
        BtfKind.Function => "FUNC",
        BtfKind.FunctionProto => "FUNC_PROTO",
        BtfKind.Variable => "VAR",
        BtfKind.DataSection => "DATASEC",
        BtfKind.Float => "FLOAT",
        BtfKind.DeclTag => "DECL_TAG",
        BtfKind.TypeTag => "TYPE_TAG",
        BtfKind.Enum64 => "ENUM64",
        _ => "UNKN",
    };

    /// <summary>Whether the kind only qualifies another type: typedef, const, volatile, restrict, type tag.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>True for the kinds that size and layout look through.</returns>
    public static bool IsModifier(this BtfKind kind)
        => kind is BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag;
}
