using BpfMaps.InProcess.Tests.Differential;

namespace BpfMaps.InProcess.Tests;

/// <summary>Minimal programs the differential suite once shrank to; each failed before its fix.</summary>
public class RegressionTests
{
    public static TheoryData<string, MapProgram> Programs => new()
    {
        // The kernel keeps BPF_F_RDONLY/BPF_F_WRONLY on the descriptor, not in map_flags: info must not show them.
        {
            "write-only flag is not a map flag",
            new MapProgram(new MapConfig(MapType.PerCpuHash, 15, 1, 9, MapFlags.ZeroSeed | MapFlags.WriteOnly), [new Op(OpKind.NextKey, 6, 0, 0, 0, 0, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 25, -2, 0)])
        },
        {
            "read-only array refuses writes but reads",
            new MapProgram(new MapConfig(MapType.Array, 4, 8, 4, MapFlags.ReadOnly), [new Op(OpKind.Update, 1, 5, 0, 0, 0, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 3, -1, 0), new Op(OpKind.Freeze, 0, 0, 0, 0, 0, 0)])
        },

        // Updating an existing key of a plain hash puts it at the head of its bucket (a fresh element replaces it).
        {
            "update moves the key to the bucket head",
            new MapProgram(new MapConfig(MapType.Hash, 9, 15, 7, MapFlags.ZeroSeed), [new Op(OpKind.Update, 15, -6007, 0, 0, 0, 0), new Op(OpKind.Update, 10, 107460, 0, 0, 0, 0), new Op(OpKind.Update, 2, 28355560, 0, 0, 0, 0), new Op(OpKind.Update, 9, 1, 0, 0, 0, 0), new Op(OpKind.Update, 11, 2, 0, 0, 0, 0), new Op(OpKind.Update, 15, -1, 0, 0, 0, 0)])
        },

        // Exactly filling the count with the last non-empty bucket still reports ENOENT; the next call from n_buckets is ENOENT with 0.
        {
            "batch ends with ENOENT when the rest is empty",
            new MapProgram(new MapConfig(MapType.Hash, 4, 8, 4, MapFlags.ZeroSeed), [new Op(OpKind.Update, 1, 1, 0, 0, 0, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 1, -1, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 1, -2, 0), new Op(OpKind.LookupAndDeleteBatch, 0, 0, 0, 1, 3, 0)])
        },

        // Update batch takes no update flags: NOEXIST in elem_flags is EINVAL with count untouched.
        {
            "update batch refuses update flags",
            new MapProgram(new MapConfig(MapType.Hash, 4, 8, 8, MapFlags.ZeroSeed), [new Op(OpKind.UpdateBatch, 1, 1, 1, 3, 0, 0), new Op(OpKind.UpdateBatch, 1, 1, 0, 3, 0, 0), new Op(OpKind.DeleteBatch, 2, 0, 0, 4, 0, 0)])
        },

        // A full array batch returns 0 at the last index; the generic code writes out_batch only when it copied something.
        {
            "generic batch at the end of an array",
            new MapProgram(new MapConfig(MapType.PerCpuArray, 4, 3, 3, MapFlags.None), [new Op(OpKind.Update, 2, 9, 0, 0, 0, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 3, -1, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 3, -2, 0), new Op(OpKind.LookupBatch, 0, 0, 0, 2, 7, 0)])
        },

        // A non-prealloc hash is full at max_entries like a preallocated one; replacing a key of a full map works.
        {
            "full map: E2BIG for new keys, replace still works",
            new MapProgram(new MapConfig(MapType.Hash, 3, 5, 2, MapFlags.ZeroSeed | MapFlags.NoPrealloc), [new Op(OpKind.Update, 1, 1, 0, 0, 0, 0), new Op(OpKind.Update, 2, 2, 0, 0, 0, 0), new Op(OpKind.Update, 3, 3, 0, 0, 0, 0), new Op(OpKind.Update, 1, 4, 2, 0, 0, 0), new Op(OpKind.UpdateBatch, 0, 5, 0, 4, 0, 0)])
        },
    };

    [Theory]
    [MemberData(nameof(Programs))]
    public void MatchesTheKernel(string name, MapProgram program)
    {
        Assert.NotNull(name);
        Backends.RequireKernel();
        DiffRunner.Run(program);
    }
}
