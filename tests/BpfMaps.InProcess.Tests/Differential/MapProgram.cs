using System.Text;
using CsCheck;

namespace BpfMaps.InProcess.Tests.Differential;

public enum OpKind
{
    Update,
    Lookup,
    Delete,
    LookupAndDelete,
    NextKey,
    LookupBatch,
    LookupAndDeleteBatch,
    UpdateBatch,
    DeleteBatch,
    Freeze,
}

/// <summary>What to create; may be invalid on purpose, to compare the create errno.</summary>
public sealed record MapConfig(MapType Type, int KeySize, int ValueSize, int MaxEntries, MapFlags Flags)
{
    public MapSpec Spec => new() { Type = Type, KeySize = KeySize, ValueSize = ValueSize, MaxEntries = MaxEntries, Flags = Flags };

    public override string ToString() => $"new MapConfig(MapType.{Type}, {KeySize}, {ValueSize}, {MaxEntries}, (MapFlags){(uint)Flags})";
}

/// <summary>
/// One step. <see cref="Key"/> is a key number (an array index for arrays, else mapped to key bytes),
/// <see cref="Value"/> a value seed; batch ops use keys Key..Key+Count-1. <see cref="Cursor"/>: -1 starts
/// the batch walk afresh, -2 continues from the previous batch call's out_batch, others are a raw u32 cursor.
/// </summary>
public readonly record struct Op(OpKind Kind, int Key, int Value, ulong Flags, int Count, int Cursor, ulong BatchFlags)
{
    public override string ToString() => $"new Op(OpKind.{Kind}, {Key}, {Value}, {Flags}, {Count}, {Cursor}, {BatchFlags})";
}

public sealed record MapProgram(MapConfig Config, Op[] Ops)
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

/// <summary>CsCheck generators for map programs.</summary>
public static class ProgramGen
{
    private static readonly Gen<ulong> UpdateFlags = Gen.Frequency(
        (10, Gen.Const(0UL)), (5, Gen.Const(1UL)), (5, Gen.Const(2UL)), (1, Gen.OneOf(3UL, 4UL, 5UL, 8UL)));

    private static readonly Gen<ulong> RareFlags = Gen.Frequency((20, Gen.Const(0UL)), (1, Gen.OneOf(1UL, 4UL, 8UL)));

    private static Gen<T> Freq<T>(params (int Weight, IGen<T> Gen)[] choices) => Gen.Frequency(choices.Where(c => c.Weight > 0).ToArray());

    public static Gen<MapConfig> Config(bool lru) =>
        Freq<MapConfig>(
            (lru ? 0 : 10, Gen.Select(Gen.OneOf(MapType.Hash, MapType.PerCpuHash), Gen.Int[1, 16], Gen.Int[1, 24], Gen.Int[1, 64], HashFlags(false))
                .Select((t, k, v, m, f) => new MapConfig(t, k, v, m, f))),
            (lru ? 10 : 0, Gen.Select(Gen.OneOf(MapType.LruHash, MapType.LruPerCpuHash), Gen.Int[1, 16], Gen.Int[1, 24], Gen.Int[1, 64], HashFlags(true))
                .Select((t, k, v, m, f) => new MapConfig(t, k, v, m, f))),
            (lru ? 0 : 6, Gen.Select(Gen.OneOf(MapType.Array, MapType.PerCpuArray), Gen.Int[1, 24], Gen.Int[1, 64], ArrayFlags)
                .Select((t, v, m, f) => new MapConfig(t, 4, v, m, f))),
            (lru ? 0 : 1, InvalidConfig));

    private static Gen<MapFlags> HashFlags(bool lru) => Freq<MapFlags>(
        (10, Gen.Const(MapFlags.ZeroSeed)),
        (lru ? 0 : 5, Gen.Const(MapFlags.ZeroSeed | MapFlags.NoPrealloc)),
        (lru ? 3 : 0, Gen.Const(MapFlags.ZeroSeed | MapFlags.NoCommonLru)),
        (1, Gen.OneOf(MapFlags.ZeroSeed | MapFlags.ReadOnly, MapFlags.ZeroSeed | MapFlags.WriteOnly)));

    private static readonly Gen<MapFlags> ArrayFlags = Gen.Frequency(
        (20, Gen.Const(MapFlags.None)),
        (1, Gen.OneOf(MapFlags.ReadOnly, MapFlags.WriteOnly, MapFlags.Mmapable)));

    private static readonly Gen<MapConfig> InvalidConfig = Gen.OneOf(
        new MapConfig(MapType.Hash, 4, 0, 4, MapFlags.ZeroSeed),
        new MapConfig(MapType.Hash, 0, 8, 4, MapFlags.ZeroSeed),
        new MapConfig(MapType.Hash, 4, 8, 0, MapFlags.ZeroSeed),
        new MapConfig(MapType.Hash, 4, 8, 4, MapFlags.ZeroSeed | MapFlags.NoCommonLru),
        new MapConfig(MapType.Hash, 4, 8, 4, MapFlags.ZeroSeed | MapFlags.Mmapable),
        new MapConfig(MapType.Hash, 4, 8, 4, MapFlags.ReadOnly | MapFlags.WriteOnly),
        new MapConfig(MapType.LruHash, 4, 8, 4, MapFlags.NoPrealloc),
        new MapConfig(MapType.Array, 8, 8, 4, MapFlags.None),
        new MapConfig(MapType.Array, 4, 8, 4, MapFlags.ZeroSeed),
        new MapConfig(MapType.Array, 4, 0, 4, MapFlags.None),
        new MapConfig(MapType.Array, 4, 8, 0, MapFlags.None),
        new MapConfig(MapType.PerCpuArray, 4, 8, 4, MapFlags.Mmapable),
        new MapConfig(MapType.PerCpuArray, 4, 40000, 4, MapFlags.None),
        new MapConfig(MapType.PerCpuHash, 4, 40000, 4, MapFlags.ZeroSeed));

    public static Gen<Op> Operation(MapConfig c)
    {
        int keys = c.Type.IsArray() ? c.MaxEntries + 3 : c.MaxEntries * 2 + 2;
        Gen<int> key = Gen.Int[0, keys];
        Gen<int> cursor = Gen.Frequency((4, Gen.Const(-1)), (8, Gen.Const(-2)), (1, Gen.Int[0, 140]));
        return Gen.Frequency(
            (30, Gen.Select(key, Gen.Int, UpdateFlags).Select((k, v, f) => new Op(OpKind.Update, k, v, f, 0, 0, 0))),
            (8, Gen.Select(key, RareFlags).Select((k, f) => new Op(OpKind.Lookup, k, 0, f, 0, 0, 0))),
            (10, key.Select(k => new Op(OpKind.Delete, k, 0, 0, 0, 0, 0))),
            (5, Gen.Select(key, RareFlags).Select((k, f) => new Op(OpKind.LookupAndDelete, k, 0, f, 0, 0, 0))),
            (8, Gen.Frequency((1, Gen.Const(-1)), (6, key)).Select(k => new Op(OpKind.NextKey, k, 0, 0, 0, 0, 0))),
            (10, Gen.Select(Gen.Int[0, 70], cursor, RareFlags, RareFlags).Select((n, cur, ef, f) => new Op(OpKind.LookupBatch, 0, 0, ef, n, cur, f))),
            (6, Gen.Select(Gen.Int[0, 70], cursor, RareFlags, RareFlags).Select((n, cur, ef, f) => new Op(OpKind.LookupAndDeleteBatch, 0, 0, ef, n, cur, f))),
            (6, Gen.Select(key, Gen.Int, Gen.Int[0, 12], RareFlags).Select((k, v, n, ef) => new Op(OpKind.UpdateBatch, k, v, ef, n, 0, 0))),
            (4, Gen.Select(key, Gen.Int[0, 8], RareFlags).Select((k, n, ef) => new Op(OpKind.DeleteBatch, k, 0, ef, n, 0, 0))),
            (1, Gen.Const(new Op(OpKind.Freeze, 0, 0, 0, 0, 0, 0))));
    }

    public static Gen<MapProgram> Program(bool lru = false) =>
        Config(lru).SelectMany(c => Operation(c).Array[1, 40].Select(ops => new MapProgram(c, ops)));
}
