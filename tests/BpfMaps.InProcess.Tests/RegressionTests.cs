using BpfMaps.InProcess.Tests.Differential;

namespace BpfMaps.InProcess.Tests;

/// <summary>Minimal programs and create specs the differential suites once found; each failed before its fix.</summary>
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
    public void Matches_the_kernel(string name, MapProgram program)
    {
        Assert.NotNull(name);
        Backends.RequireKernel();
        DiffRunner.Run(program);
    }

    public static TheoryData<string, MimProgram> MapInMapPrograms => new()
    {
        // Since Linux 6.16 hash_of_maps swaps the inner map in place: a replaced key keeps its place in its chain
        // (keys 1 and 2 share a bucket), and replacing in a full map needs no spare element.
        {
            "hash_of_maps replaces in place",
            new MimProgram(new MimConfig(MapType.HashOfMaps, 4, 4, 2, MapFlags.ZeroSeed, InnerVariant.ArrayA, false), [new MimOp(MimOpKind.SetInner, 1, 0, 0, 0, 0), new MimOp(MimOpKind.SetInner, 2, 0, 0, 0, 0), new MimOp(MimOpKind.CreateInner, 0, (int)InnerVariant.ArrayA, 0, 0, 0), new MimOp(MimOpKind.SetInner, 1, 1, 2, 0, 0), new MimOp(MimOpKind.SetInner, 3, 1, 0, 0, 0)])
        },

        // The value is a descriptor to the kernel: 0 is this process's stdin, open but not a map (EINVAL). The engine
        // used to read it as an id that names nothing (EBADF). Draining an array_of_maps with ReadThenZero writes 0s.
        {
            "descriptor 0 is open and not a map",
            new MimProgram(new MimConfig(MapType.ArrayOfMaps, 4, 4, 3, MapFlags.None, InnerVariant.ArrayA, false), [new MimOp(MimOpKind.SetInner, 1, 0, 0, 0, 0), new MimOp(MimOpKind.Drain, 0, 0, 1, 2, 0), new MimOp(MimOpKind.LookupBatch, 0, 0, 0, 3, -1)])
        },

        // A map whose every handle is closed has no descriptor left, even while an outer map holds it: EBADF. The engine
        // used to accept its id.
        {
            "a closed inner map cannot be named by its id",
            new MimProgram(new MimConfig(MapType.HashOfMaps, 4, 4, 4, MapFlags.ZeroSeed, InnerVariant.HashA, false), [new MimOp(MimOpKind.CreateInner, 0, (int)InnerVariant.HashMax8, 0, 0, 0), new MimOp(MimOpKind.SetInner, 1, 1, 0, 0, 0), new MimOp(MimOpKind.CloseInner, 0, 1, 0, 0, 0), new MimOp(MimOpKind.UpdateHandleValue, 2, 1, 0, 0, 0), new MimOp(MimOpKind.UpdateBatch, 3, 0, 0, 2, 0), new MimOp(MimOpKind.SetInner, 2, 1, 0, 0, 0)])
        },
    };

    [Theory]
    [MemberData(nameof(MapInMapPrograms))]
    public void Map_in_map_matches_the_kernel(string name, MimProgram program)
    {
        Assert.NotNull(name);
        Backends.RequireKernel();
        MapInMapRunner.Run(program);
    }

    public static TheoryData<string, CreateCase> CreateCases => new()
    {
        // A type number with no map ops is EINVAL; NotSupportedException is for types the kernel has and the engine lacks.
        { "unspecified type", new CreateCase(MapType.Unspecified, 4, 8, 4, MapFlags.None) },
        { "type past the uapi", new CreateCase((MapType)34, 4, 8, 4, MapFlags.None) },

        // htab_map_alloc_check: key + value must stay below KMALLOC_MAX_SIZE - sizeof(struct htab_elem), not KMALLOC_MAX_SIZE.
        { "hash element too large to kmalloc", new CreateCase(MapType.Hash, 4, (4 << 20) - 52, 4, MapFlags.None) },

        // htab_map_alloc: more than 2^27 entries needs 2^28 buckets of 16 bytes, past u32. The engine answered ENOMEM,
        // or threw OverflowException after allocating gigabytes of buckets (lru_hash with 2^30 entries).
        { "hash_of_maps with 2^27 + 1 entries", new CreateCase(MapType.HashOfMaps, 4, 4, (1 << 27) + 1, MapFlags.None, Template: TemplateKind.Array) },
        { "no-prealloc hash with 2^27 + 1 entries", new CreateCase(MapType.Hash, 4, 8, (1 << 27) + 1, MapFlags.NoPrealloc) },
        { "lru_hash with int.MaxValue entries", new CreateCase(MapType.LruHash, 4, 8, int.MaxValue, MapFlags.None) },
        { "lru_percpu_hash with 2^30 entries per CPU", new CreateCase(MapType.LruPerCpuHash, 4, 8, 1 << 30, MapFlags.NoCommonLru) },

        // BPF_F_TOKEN_FD is taken off before the type's checks and the token looked up after them.
        { "token flag after the per-CPU value limit", new CreateCase(MapType.PerCpuHash, 4, 40000, 4, (MapFlags)(1u << 16)) },
        { "token flag after lru's no-prealloc check", new CreateCase(MapType.LruHash, 4, 8, 4, MapFlags.NoPrealloc | (MapFlags)(1u << 16)) },
        { "token flag on a valid spec", new CreateCase(MapType.Array, 4, 8, 4, (MapFlags)(1u << 16)) },

        // round_up(value_size, 8) overflowed int: a per-CPU array with int.MaxValue bytes per CPU was created with a 0-byte buffer.
        { "per-CPU value of int.MaxValue", new CreateCase(MapType.PerCpuArray, 4, int.MaxValue, 4, MapFlags.None) },

        // BpfMap.Create leases the template's descriptor before the syscall: a closed template is EBADF, not ArgumentException.
        { "closed template", new CreateCase(MapType.ArrayOfMaps, 4, 4, 4, MapFlags.None, Template: TemplateKind.Closed) },
        { "map-in-map template", new CreateCase(MapType.HashOfMaps, 4, 4, 4, MapFlags.None, Template: TemplateKind.MapInMap) },

        // Documented: the kernel allocates no-prealloc elements lazily (16 MiB of buckets here); the engine would
        // preallocate 2^20 one-MiB values and refuses with ENOMEM past InProcessOptions.MemoryLimit.
        { "lazily allocated hash past the engine's memory limit", new CreateCase(MapType.Hash, 4, 1 << 20, 1 << 20, MapFlags.NoPrealloc) },
    };

    [Theory]
    [MemberData(nameof(CreateCases))]
    public void Create_matches_the_kernel(string name, CreateCase spec)
    {
        Assert.NotNull(name);
        Backends.RequireKernel();
        Assert.True(CreateSweep.Run(spec), $"{spec} is too large to run on this host");
    }
}
