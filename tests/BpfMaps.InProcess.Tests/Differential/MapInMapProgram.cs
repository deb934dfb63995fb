using System.Text;
using CsCheck;

namespace BpfMaps.InProcess.Tests.Differential;

public enum MimOpKind
{
    /// <summary>Creates an inner map of <see cref="MimOp.Inner"/>'s variant and adds it to the pool.</summary>
    CreateInner,

    /// <summary>Puts pool map <see cref="MimOp.Inner"/> at <see cref="MimOp.Key"/> (<c>SetInnerMap</c>'s backend call).</summary>
    SetInner,

    /// <summary>Puts the outer map into itself.</summary>
    SetSelf,

    /// <summary>Updates with a value that names no map on either side (a descriptor that is not open, an id never handed out).</summary>
    UpdateRaw,

    /// <summary>Updates with the raw u32 of pool map <see cref="MimOp.Inner"/>: its id for the engine; its descriptor for the kernel while its handle is open, else one that is not.</summary>
    UpdateHandleValue,
    Lookup,
    Delete,
    LookupAndDelete,
    NextKey,
    LookupBatch,
    LookupAndDeleteBatch,

    /// <summary>Keys Key..Key+Count-1 with pool maps Inner.., as UpdateHandleValue writes them.</summary>
    UpdateBatch,
    DeleteBatch,

    /// <summary>Disposes the handle of pool map <see cref="MimOp.Inner"/> (an outer map may still hold the map).</summary>
    CloseInner,

    /// <summary><see cref="BpfMap.Drain"/>: <see cref="MimOp.Count"/> is the batch size, <see cref="MimOp.Flags"/> 1 asks for ReadThenZero, 2 for a get_next_key walk.</summary>
    Drain,
    Freeze,
}

/// <summary>
/// An inner map spec. <see cref="InnerVariant.ArrayA"/> is the usual template; the others differ from it in one
/// property each, so inserting them shows which properties bpf_map_meta_equal compares.
/// </summary>
public enum InnerVariant
{
    ArrayA,
    ArrayMax5,
    ArrayInnerFlag,
    ArrayInnerFlagMax6,
    ArrayReadOnly,
    ArrayReadOnlyProg,
    ArrayValue4,
    PerCpuArray,
    HashA,
    HashMax8,
    HashNoPrealloc,
    LruHash,

    /// <summary>An array_of_maps over an <see cref="ArrayA"/> template: a map-in-map cannot be an inner map.</summary>
    ArrayOfMaps,
}

/// <summary>What outer map to create, over which template. May be invalid on purpose.</summary>
public sealed record MimConfig(MapType Outer, int KeySize, int ValueSize, int MaxEntries, MapFlags Flags, InnerVariant Template, bool CloseTemplateFirst)
{
    public override string ToString()
        => $"new MimConfig(MapType.{Outer}, {KeySize}, {ValueSize}, {MaxEntries}, (MapFlags){(uint)Flags}, InnerVariant.{Template}, {(CloseTemplateFirst ? "true" : "false")})";

    public static MapSpec InnerSpec(InnerVariant v) => v switch
    {
        InnerVariant.ArrayA => Array(4, 8, MapFlags.None),
        InnerVariant.ArrayMax5 => Array(5, 8, MapFlags.None),
        InnerVariant.ArrayInnerFlag => Array(4, 8, MapFlags.InnerMap),
        InnerVariant.ArrayInnerFlagMax6 => Array(6, 8, MapFlags.InnerMap),
        InnerVariant.ArrayReadOnly => Array(4, 8, MapFlags.ReadOnly),
        InnerVariant.ArrayReadOnlyProg => Array(4, 8, MapFlags.ReadOnlyProg),
        InnerVariant.ArrayValue4 => Array(4, 4, MapFlags.None),
        InnerVariant.PerCpuArray => Array(4, 8, MapFlags.None) with { Type = MapType.PerCpuArray },
        InnerVariant.HashA => Hash(MapType.Hash, 4, MapFlags.ZeroSeed),
        InnerVariant.HashMax8 => Hash(MapType.Hash, 8, MapFlags.ZeroSeed),
        InnerVariant.HashNoPrealloc => Hash(MapType.Hash, 4, MapFlags.ZeroSeed | MapFlags.NoPrealloc),
        InnerVariant.LruHash => Hash(MapType.LruHash, 4, MapFlags.ZeroSeed),
        InnerVariant.ArrayOfMaps => new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 2 },
        _ => throw new ArgumentOutOfRangeException(nameof(v)),
    };

    private static MapSpec Array(int max, int value, MapFlags flags) => new() { Type = MapType.Array, KeySize = 4, ValueSize = value, MaxEntries = max, Flags = flags };

    private static MapSpec Hash(MapType type, int max, MapFlags flags) => new() { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = max, Flags = flags };
}

/// <summary>
/// One step of a map-in-map program. <see cref="Key"/> is a key number (an index for array_of_maps),
/// <see cref="Inner"/> a pool index (or an <see cref="InnerVariant"/> for CreateInner), <see cref="Cursor"/>
/// as in <see cref="Op"/>: -1 fresh, -2 continue, else a raw u32.
/// </summary>
public readonly record struct MimOp(MimOpKind Kind, int Key, int Inner, ulong Flags, int Count, int Cursor)
{
    public override string ToString() => $"new MimOp(MimOpKind.{Kind}, {Key}, {Inner}, {Flags}, {Count}, {Cursor})";
}

public sealed record MimProgram(MimConfig Config, MimOp[] Ops)
{
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Config).Append(", [");
        sb.AppendJoin(", ", Ops);
        sb.Append(']');
        return sb.ToString();
    }
}

/// <summary>CsCheck generators for map-in-map programs.</summary>
public static class MimProgramGen
{
    private static readonly Gen<ulong> UpdateFlags = Gen.Frequency(
        (10, Gen.Const(0UL)), (5, Gen.Const(1UL)), (5, Gen.Const(2UL)), (1, Gen.OneOf(3UL, 4UL, 8UL)));

    private static readonly Gen<ulong> RareFlags = Gen.Frequency((20, Gen.Const(0UL)), (1, Gen.OneOf(1UL, 4UL)));

    private static readonly Gen<InnerVariant> Template = Gen.Frequency(
        (8, Gen.Const(InnerVariant.ArrayA)),
        (3, Gen.Const(InnerVariant.ArrayInnerFlag)),
        (4, Gen.Const(InnerVariant.HashA)),
        (1, Gen.OneOf(InnerVariant.PerCpuArray, InnerVariant.LruHash, InnerVariant.ArrayReadOnly, InnerVariant.ArrayReadOnlyProg, InnerVariant.HashNoPrealloc)),
        (1, Gen.Const(InnerVariant.ArrayOfMaps)));

    private static readonly Gen<MapFlags> OuterFlags = Gen.Frequency(
        (30, Gen.Const(MapFlags.None)),
        (1, Gen.OneOf(MapFlags.ReadOnly, MapFlags.WriteOnly, MapFlags.NoPrealloc, MapFlags.InnerMap, MapFlags.ReadOnlyProg)));

    public static readonly Gen<MimConfig> Config = Gen.Frequency(
        (10, Gen.Select(Gen.Int[1, 8], OuterFlags, Template, Gen.Int[0, 40])
            .Select((m, f, t, c) => new MimConfig(MapType.ArrayOfMaps, 4, 4, m, f, t, c == 0))),
        (10, Gen.Select(Gen.Int[1, 8], Gen.Int[1, 8], OuterFlags, Template, Gen.Int[0, 40])
            .Select((k, m, f, t, c) => new MimConfig(MapType.HashOfMaps, k, 4, m, f | MapFlags.ZeroSeed, t, c == 0))),
        (1, Gen.Select(Gen.OneOf(MapType.ArrayOfMaps, MapType.HashOfMaps), Gen.OneOf(0, 4, 8), Gen.OneOf(0, 8), Gen.OneOf(0, 1), Template)
            .Select((t, k, v, m, tpl) => new MimConfig(t, k, v, m, MapFlags.ZeroSeed, tpl, false))));

    public static Gen<MimOp> Operation(MimConfig c)
    {
        Gen<int> key = Gen.Int[0, c.MaxEntries + 2];
        Gen<int> inner = Gen.Int[0, 6];
        Gen<int> cursor = Gen.Frequency((4, Gen.Const(-1)), (8, Gen.Const(-2)), (1, Gen.Int[0, 20]));
        return Gen.Frequency(
            (4, Gen.Enum<InnerVariant>().Select(v => new MimOp(MimOpKind.CreateInner, 0, (int)v, 0, 0, 0))),
            (30, Gen.Select(key, inner, UpdateFlags).Select((k, i, f) => new MimOp(MimOpKind.SetInner, k, i, f, 0, 0))),
            (1, Gen.Select(key, UpdateFlags).Select((k, f) => new MimOp(MimOpKind.SetSelf, k, 0, f, 0, 0))),
            (2, Gen.Select(key, Gen.Int[0, 1], UpdateFlags).Select((k, i, f) => new MimOp(MimOpKind.UpdateRaw, k, i, f, 0, 0))),
            (4, Gen.Select(key, inner, UpdateFlags).Select((k, i, f) => new MimOp(MimOpKind.UpdateHandleValue, k, i, f, 0, 0))),
            (10, Gen.Select(key, RareFlags).Select((k, f) => new MimOp(MimOpKind.Lookup, k, 0, f, 0, 0))),
            (10, key.Select(k => new MimOp(MimOpKind.Delete, k, 0, 0, 0, 0))),
            (3, Gen.Select(key, RareFlags).Select((k, f) => new MimOp(MimOpKind.LookupAndDelete, k, 0, f, 0, 0))),
            (6, Gen.Frequency((1, Gen.Const(-1)), (5, key)).Select(k => new MimOp(MimOpKind.NextKey, k, 0, 0, 0, 0))),
            (8, Gen.Select(Gen.Int[0, 12], cursor, RareFlags).Select((n, cur, f) => new MimOp(MimOpKind.LookupBatch, 0, 0, f, n, cur))),
            (5, Gen.Select(Gen.Int[0, 12], cursor, RareFlags).Select((n, cur, f) => new MimOp(MimOpKind.LookupAndDeleteBatch, 0, 0, f, n, cur))),
            (5, Gen.Select(key, inner, Gen.Int[0, 5], RareFlags).Select((k, i, n, f) => new MimOp(MimOpKind.UpdateBatch, k, i, f, n, 0))),
            (4, Gen.Select(key, Gen.Int[0, 5], RareFlags).Select((k, n, f) => new MimOp(MimOpKind.DeleteBatch, k, 0, f, n, 0))),
            (3, inner.Select(i => new MimOp(MimOpKind.CloseInner, 0, i, 0, 0, 0))),
            (3, Gen.Select(Gen.Int[1, 6], Gen.Int[0, 2]).Select((n, mode) => new MimOp(MimOpKind.Drain, 0, 0, (ulong)mode, n, 0))),
            (1, Gen.Const(new MimOp(MimOpKind.Freeze, 0, 0, 0, 0, 0))));
    }

    public static Gen<MimProgram> Program() =>
        Config.SelectMany(c => Operation(c).Array[1, 30].Select(ops => new MimProgram(c, ops)));
}
