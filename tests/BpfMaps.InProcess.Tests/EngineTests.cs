using System.Buffers.Binary;
using System.Numerics;
using BpfMaps.InProcess.Engine;

namespace BpfMaps.InProcess.Tests;

/// <summary>What only the in-process engine has: options, ids, handle lifetime, the hash itself.</summary>
public class EngineTests
{
    [Fact]
    public void Jhash_matches_known_values()
    {
        // lookup3 reference values (hashlittle of "" and "Four score and seven years ago").
        Assert.Equal(0xdeadbeefu, JHash.Bytes([], 0));
        Assert.Equal(0xbd5b7ddeu, JHash.Bytes([], 0xdeadbeef));
        Assert.Equal(0x17770551u, JHash.Bytes("Four score and seven years ago"u8, 0));
        Assert.Equal(0xcd628161u, JHash.Bytes("Four score and seven years ago"u8, 1));
        Assert.Equal(JHash.Words(Bytes.U32(12345), 7), JHash.Word(12345, 7));
    }

    [Fact]
    public void Seed_option_decides_bucket_order()
    {
        const uint seed = 0x1234_5678;
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 32 }, new InProcessOptions { Seed = seed });
        var backend = (InProcessMapBackend)map.Backend;
        Assert.Equal(seed, backend.Seed);
        Assert.Equal(32, backend.BucketCount);
        for (uint k = 0; k < 20; k++)
        {
            map.Update(Bytes.U32(k), Bytes.U64(k));
        }

        var buckets = Bytes.WalkKeys(map.Backend, 4).Select(k => JHash.Hash(k, seed) & 31).ToList();
        Assert.Equal(buckets.Order(), buckets);

        using BpfMap zero = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4, Flags = MapFlags.ZeroSeed }, new InProcessOptions { Seed = seed });
        Assert.Equal(0u, ((InProcessMapBackend)zero.Backend).Seed);
        Assert.Equal((int)BitOperations.RoundUpToPowerOf2(5u), ((InProcessMapBackend)InProcessMap.CreateBackend(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 5 })).BucketCount);
    }

    [Fact]
    public void Possible_cpus_can_be_overridden()
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 4, MaxEntries = 2 }, new InProcessOptions { PossibleCpus = 5 });
        Assert.Equal(5, map.Cpus);
        Assert.Equal(40, map.ValueBufferSize);
        var typed = new PerCpuBpfMap<uint, uint>(map);
        typed.Update(1, [1, 2, 3, 4, 5]);
        Assert.True(typed.TryLookup(1, out uint[]? got));
        Assert.Equal([1u, 2, 3, 4, 5], got);
    }

    [Fact]
    public void Disposed_handles_answer_EBADF()
    {
        InProcessMapBackend backend = InProcessMap.CreateBackend(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        Assert.True(backend.Info.Id >= ObjectTable.FirstId);
        Assert.Null(backend.Handle);
        backend.Dispose();
        backend.Dispose();
        Assert.Equal(Errno.EBADF, backend.Lookup(Bytes.U32(1), new byte[8], 0));
        Assert.Equal(Errno.EBADF, backend.Update(Bytes.U32(1), new byte[8], 0));
        uint count = 1;
        Assert.Equal(Errno.EBADF, backend.LookupBatch(false, default, new byte[4], new byte[4], new byte[8], ref count, 0, 0));
    }

    [Fact]
    public void Outer_maps_keep_their_inner_maps_alive()
    {
        BpfMap inner = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        uint id = inner.Id;
        using BpfMap outer = InProcessMap.Create(new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = inner });
        outer.SetInnerMap(Bytes.U32(1), inner);
        Assert.Equal(0, outer.Backend.Update(Bytes.U32(2), Bytes.U32(id), 0));
        inner.Dispose();

        // Still alive: the outer map holds a reference, as the kernel's refcount does, and reads back its id.
        byte[] got = new byte[4];
        Assert.True(outer.TryLookup(Bytes.U32(1), got));
        Assert.Equal(id, BinaryPrimitives.ReadUInt32LittleEndian(got));
        MapCore? alive = ObjectTable.Acquire(id);
        Assert.NotNull(alive);
        alive.Release();

        // But its last handle was its descriptor: like a closed descriptor to the kernel, its id names nothing now.
        Assert.Equal(Errno.EBADF, outer.Backend.Update(Bytes.U32(3), Bytes.U32(id), 0));
        Assert.True(outer.Delete(Bytes.U32(1)));
        Assert.True(outer.Delete(Bytes.U32(2)));
        Assert.Null(ObjectTable.Acquire(id));
    }

    [Fact]
    public void Values_that_name_no_map_are_read_as_the_kernel_reads_descriptors()
    {
        using BpfMap template = InProcessMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        using BpfMap outer = InProcessMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 2, InnerMap = template });

        // An open descriptor that is not a map of this engine is EINVAL (bpf_map_fd_get_ptr: not a map); one that
        // is not open, EBADF.
        using var file = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.DeleteOnClose);
        uint fd = (uint)file.SafeFileHandle.DangerousGetHandle();
        Assert.Equal(Errno.EINVAL, outer.Backend.Update(Bytes.U32(0), Bytes.U32(fd), 0));
        Assert.Equal(Errno.EBADF, outer.Backend.Update(Bytes.U32(0), Bytes.U32(0x7FFF_FFF0), 0));
        Assert.Equal(Errno.EBADF, outer.Backend.Update(Bytes.U32(0), Bytes.U32(uint.MaxValue), 0));
        using var pipe = new System.IO.Pipes.AnonymousPipeServerStream();
        Assert.Equal(Errno.EINVAL, outer.Backend.Update(Bytes.U32(0), Bytes.U32((uint)pipe.SafePipeHandle.DangerousGetHandle()), 0));
        Assert.False(outer.TryLookup(Bytes.U32(0), new byte[4]));

        Backends.RequireKernel();
        using BpfMap kernel = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        Assert.Equal(Errno.EINVAL, outer.Backend.Update(Bytes.U32(0), Bytes.U32((uint)kernel.Handle!.DangerousGetHandle()), 0));
    }

    [Fact]
    public void Storage_beyond_the_memory_limit_is_ENOMEM_without_allocating()
    {
        // The kernel would take this lazily (2 GiB of buckets, no elements until used); the engine preallocates.
        var lazy = new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 1 << 27, Flags = MapFlags.NoPrealloc };
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(Errno.ENOMEM, Assert.Throws<BpfException>(() => InProcessMap.Create(lazy)).Errno);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);

        // The limit is per map and can be moved either way; checks the kernel makes first still come first.
        var small = new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1024 };
        Assert.Equal(Errno.ENOMEM, Assert.Throws<BpfException>(() => InProcessMap.Create(small, new InProcessOptions { MemoryLimit = 4096 })).Errno);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => InProcessMap.Create(small with { ValueSize = 0 }, new InProcessOptions { MemoryLimit = 0 })).Errno);
        Assert.Equal(Errno.E2BIG, Assert.Throws<BpfException>(() => InProcessMap.Create(lazy with { MaxEntries = (1 << 27) + 1 }, new InProcessOptions { MemoryLimit = 0 })).Errno);
        using BpfMap fits = InProcessMap.Create(small, new InProcessOptions { MemoryLimit = 1024 * 12 });
        Assert.Equal(1024, fits.MaxEntries);
    }

    [Fact]
    public void Unsupported_types_and_kernel_inner_maps_are_refused()
    {
        using BpfMap inner = InProcessMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        Assert.True(InProcessMap.IsInProcess(inner));
        Assert.Throws<NotSupportedException>(() => InProcessMap.Create(new MapSpec { Type = MapType.LpmTrie, KeySize = 8, ValueSize = 8, MaxEntries = 1 }));
        Assert.Throws<ArgumentException>(() => InProcessMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1 }));
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => InProcessMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 8, MaxEntries = 1, InnerMap = inner })).Errno);

        Backends.RequireKernel();
        using BpfMap kernel = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
        Assert.False(InProcessMap.IsInProcess(kernel));
        Assert.Throws<ArgumentException>(() => InProcessMap.Create(new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = kernel }));
        Assert.Throws<ArgumentException>(() => InProcessMap.AtomicAdd(kernel, Bytes.U32(0), 1));
    }

    [Theory]
    [InlineData(MapType.Unspecified)]
    [InlineData((MapType)34)]
    [InlineData((MapType)uint.MaxValue)]
    public void Type_numbers_without_map_ops_are_EINVAL(MapType type)
    {
        // No kernel has map ops for these, so BPF_MAP_CREATE refuses them; it is not a feature the engine lacks.
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => InProcessMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 4, MaxEntries = 4 })).Errno);
    }

    [Theory]
    [InlineData(MapType.Queue, 0UL)]
    [InlineData(MapType.Stack, 0UL)]
    [InlineData(MapType.BloomFilter, 0UL)]
    [InlineData(MapType.BloomFilter, 3UL)]
    public void Keyless_types_are_not_supported_even_with_specs_the_kernel_takes(MapType type, ulong mapExtra)
    {
        // A bloom filter's map_extra is valid for the kernel; it must not come back as the engine's EINVAL.
        var e = Assert.Throws<NotSupportedException>(() => InProcessMap.Create(new MapSpec { Type = type, KeySize = 0, ValueSize = 4, MaxEntries = 4, MapExtra = mapExtra }));
        Assert.Contains($"not {type.KernelName()}", e.Message);
    }

    private sealed class Passthrough(IMapBackend inner) : DelegatingMapBackend(inner, ownsInner: false);

    [Fact]
    public void Map_in_map_holds_only_maps_of_its_own_backend()
    {
        using BpfMap template = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        using BpfMap outer = InProcessMap.Create(new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = template });

        // A closed inner map is EBADF, as a closed descriptor is for the kernel; nothing is written.
        BpfMap closed = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        closed.Dispose();
        Assert.Equal(Errno.EBADF, Assert.Throws<BpfException>(() => outer.SetInnerMap(Bytes.U32(1), closed)).Errno);
        Assert.False(outer.TryLookup(Bytes.U32(1), new byte[4]));
        Assert.Throws<MapSizeMismatchException>(() => outer.SetInnerMap(new byte[2], template));

        // A decorated in-process map is still named by its id.
        using BpfMap other = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        using var decorated = new BpfMap(new Passthrough(other.Backend));
        outer.SetInnerMap(Bytes.U32(2), decorated);
        byte[] got = new byte[4];
        Assert.True(outer.TryLookup(Bytes.U32(2), got));
        Assert.Equal(other.Id, BinaryPrimitives.ReadUInt32LittleEndian(got));
        Assert.True(outer.Delete(Bytes.U32(2)));

        // ...and a decorated handle that was closed is EBADF like any closed handle.
        BpfMap closing = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        using var decoratedClosed = new BpfMap(new Passthrough(closing.Backend));
        closing.Dispose();
        Assert.Equal(Errno.EBADF, Assert.Throws<BpfException>(() => outer.SetInnerMap(Bytes.U32(2), decoratedClosed)).Errno);
        Assert.True(InProcessMap.IsInProcess(decorated));

        Backends.RequireKernel();
        using BpfMap kernelInner = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        using BpfMap kernelOuter = BpfMap.Create(new MapSpec { Type = MapType.HashOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = kernelInner });
        var e = Assert.Throws<ArgumentException>(() => outer.SetInnerMap(Bytes.U32(1), kernelInner));
        Assert.Contains("in-process map-in-map can only hold in-process maps", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => kernelOuter.SetInnerMap(Bytes.U32(1), template));
        Assert.Contains("kernel map-in-map can only hold kernel maps", e.Message, StringComparison.Ordinal);

        // The raw tier answers a foreign inner backend with EBADF, and writes nothing.
        Assert.Equal(Errno.EBADF, outer.Backend.UpdateInner(Bytes.U32(1), kernelInner.Backend, 0));
        Assert.Equal(Errno.EBADF, kernelOuter.Backend.UpdateInner(Bytes.U32(1), template.Backend, 0));
        Assert.False(outer.TryLookup(Bytes.U32(1), new byte[4]));
        Assert.False(kernelOuter.TryLookup(Bytes.U32(1), new byte[4]));

        // Each backend names the inner map its own way and reads back the same id.
        kernelOuter.SetInnerMap(Bytes.U32(1), kernelInner);
        outer.SetInnerMap(Bytes.U32(1), template);
        byte[] id = new byte[4];
        Assert.True(kernelOuter.TryLookup(Bytes.U32(1), id));
        Assert.Equal(kernelInner.Id, BinaryPrimitives.ReadUInt32LittleEndian(id));
        Assert.True(outer.TryLookup(Bytes.U32(1), id));
        Assert.Equal(template.Id, BinaryPrimitives.ReadUInt32LittleEndian(id));
    }

    [Fact]
    public void Lru_evicts_the_least_recently_updated_key()
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = MapType.LruHash, KeySize = 4, ValueSize = 8, MaxEntries = 3 });
        map.Update(Bytes.U32(1), Bytes.U64(1));
        map.Update(Bytes.U32(2), Bytes.U64(2));
        map.Update(Bytes.U32(3), Bytes.U64(3));
        Assert.True(map.TryLookup(Bytes.U32(1), new byte[8]));
        map.Update(Bytes.U32(4), Bytes.U64(4));

        // Lookups do not refresh (as with the syscall), so key 1 was the least recently updated.
        var keys = Bytes.WalkKeys(map.Backend, 4).Select(k => BinaryPrimitives.ReadUInt32LittleEndian(k)).Order().ToArray();
        Assert.Equal(new uint[] { 2, 3, 4 }, keys);
    }
}
