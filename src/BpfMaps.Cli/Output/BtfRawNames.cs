using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>bpftool's words for the fields of a BTF type, shared by the plain and JSON renderers.</summary>
internal static class BtfRawNames
{
    /// <summary>The kind as bpftool prints it: <c>UNKNOWN</c> for void, else the kernel's name.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>ASCII bytes.</returns>
    public static ReadOnlySpan<byte> Kind(BtfKind kind) => kind switch
    {
        BtfKind.Int => "INT"u8,
        BtfKind.Pointer => "PTR"u8,
        BtfKind.Array => "ARRAY"u8,
        BtfKind.Struct => "STRUCT"u8,
        BtfKind.Union => "UNION"u8,
        BtfKind.Enum => "ENUM"u8,
        BtfKind.Forward => "FWD"u8,
        BtfKind.Typedef => "TYPEDEF"u8,
        BtfKind.Volatile => "VOLATILE"u8,
        BtfKind.Const => "CONST"u8,
        BtfKind.Restrict => "RESTRICT"u8,
        BtfKind.Function => "FUNC"u8,
        BtfKind.FunctionProto => "FUNC_PROTO"u8,
        BtfKind.Variable => "VAR"u8,
        BtfKind.DataSection => "DATASEC"u8,
        BtfKind.Float => "FLOAT"u8,
        BtfKind.DeclTag => "DECL_TAG"u8,
        BtfKind.TypeTag => "TYPE_TAG"u8,
        BtfKind.Enum64 => "ENUM64"u8,
        _ => "UNKNOWN"u8,
    };

    /// <summary>An INT's encoding: <c>(none)</c>, <c>SIGNED</c>, <c>CHAR</c>, <c>BOOL</c>, or <c>UNKN</c> for a combination.</summary>
    /// <param name="encoding">The BTF_INT_ENCODING bits.</param>
    /// <returns>ASCII bytes.</returns>
    public static ReadOnlySpan<byte> IntEncoding(int encoding) => encoding switch
    {
        0 => "(none)"u8,
        1 => "SIGNED"u8,
        2 => "CHAR"u8,
        4 => "BOOL"u8,
        _ => "UNKN"u8,
    };

    /// <summary>A FUNC's linkage, from its vlen.</summary>
    /// <param name="vlen">The vlen field.</param>
    /// <returns>ASCII bytes.</returns>
    public static ReadOnlySpan<byte> FunctionLinkage(int vlen) => vlen switch
    {
        0 => "static"u8,
        1 => "global"u8,
        2 => "extern"u8,
        _ => "(unknown)"u8,
    };

    /// <summary>A VAR's linkage.</summary>
    /// <param name="linkage">The linkage field.</param>
    /// <returns>ASCII bytes.</returns>
    public static ReadOnlySpan<byte> VariableLinkage(uint linkage) => linkage switch
    {
        0 => "static"u8,
        1 => "global"u8,
        2 => "extern"u8,
        _ => "(unknown)"u8,
    };

    /// <summary>The name at <paramref name="offset"/>, or <c>(anon)</c> for offset 0, as raw bytes.</summary>
    /// <param name="spec">The BTF.</param>
    /// <param name="offset">A name offset.</param>
    /// <returns>The bytes, exactly as in the string section.</returns>
    public static ReadOnlySpan<byte> Name(BtfSpec spec, uint offset) => offset == 0 ? "(anon)"u8 : spec.GetStringBytes(offset);
}
