using System.Runtime.InteropServices;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

public class ElementTests
{
    [Theory]
    [InlineData(MapType.Hash)]
    [InlineData(MapType.LruHash)]
    public void Hash_update_lookup_delete_with_flags(MapType type)
    {
        using var map = Hash(type: type);
        byte[] v = new byte[8];
        Assert.False(map.TryLookup(U32(1), v));
        map.Update(U32(1), U64(10), UpdateFlags.NoExist);
        Assert.True(map.TryLookup(U32(1), v));
        Assert.Equal(10UL, BitConverter.ToUInt64(v));

        var eexist = Assert.Throws<BpfException>(() => map.Update(U32(1), U64(11), UpdateFlags.NoExist));
        Assert.Equal(Errno.EEXIST, eexist.Errno);
        Assert.Equal("BPF_MAP_UPDATE_ELEM", eexist.Command);
        var enoent = Assert.Throws<BpfException>(() => map.Update(U32(2), U64(11), UpdateFlags.Exist));
        Assert.Equal(Errno.ENOENT, enoent.Errno);
        map.Update(U32(1), U64(12), UpdateFlags.Exist);
        Assert.True(map.TryLookup(U32(1), v));
        Assert.Equal(12UL, BitConverter.ToUInt64(v));

        Assert.True(map.Delete(U32(1)));
        Assert.False(map.Delete(U32(1)));
        Assert.False(map.TryLookup(U32(1), v));
    }

    [Fact]
    public void Full_hash_gives_E2BIG_but_lru_evicts()
    {
        using var hash = Hash(maxEntries: 4);
        for (uint i = 0; i < 4; i++)
        {
            hash.Update(U32(i), U64(i));
        }

        Assert.Equal(Errno.E2BIG, Assert.Throws<BpfException>(() => hash.Update(U32(99), U64(0))).Errno);
        Assert.Equal(Errno.E2BIG, hash.UpdateOrErrno(U32(99), U64(0)));

        using var lru = Hash(maxEntries: 64, type: MapType.LruHash);
        for (uint i = 0; i < 1000; i++)
        {
            lru.Update(U32(i), U64(i));
        }

        long n = lru.CountEntries();
        Assert.InRange(n, 1, 64);
        Assert.True(lru.TryLookup(U32(999), new byte[8]), "the key written last survives eviction");
    }

    [Fact]
    public void Get_next_key_walks_every_key_and_restarts_on_missing_key()
    {
        using var map = Hash(maxEntries: 16, flags: MapFlags.ZeroSeed);
        for (uint i = 0; i < 10; i++)
        {
            map.Update(U32(i), U64(i));
        }

        var seen = new List<uint>();
        byte[] next = new byte[4];
        byte[]? prev = null;
        while (map.TryGetNextKey(prev, next))
        {
            seen.Add(BitConverter.ToUInt32(next));
            prev = (byte[])next.Clone();
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (uint)i).Order(), seen.Order());

        // A key that is not in a hash map makes the kernel start again from the first key.
        Assert.True(map.TryGetNextKey(U32(12345), next));
        Assert.Equal(seen[0], BitConverter.ToUInt32(next));
    }

    [Fact]
    public void Array_cannot_delete_and_rejects_out_of_range()
    {
        using var map = Hash(maxEntries: 4, type: MapType.Array);
        byte[] v = new byte[8];
        Assert.True(map.TryLookup(U32(3), v), "array elements always exist");
        Assert.Equal(0UL, BitConverter.ToUInt64(v));
        map.Update(U32(3), U64(7));
        Assert.Equal(Errno.EEXIST, map.UpdateOrErrno(U32(3), U64(7), UpdateFlags.NoExist));
        Assert.Equal(Errno.E2BIG, map.UpdateOrErrno(U32(4), U64(7)));
        Assert.False(map.TryLookup(U32(4), v));
        var e = Assert.Throws<BpfException>(() => map.Delete(U32(0)));
        Assert.Equal(Errno.EINVAL, e.Errno);

        byte[] next = new byte[4];
        Assert.True(map.TryGetNextKey(U32(99), next));
        Assert.Equal(0u, BitConverter.ToUInt32(next));
        Assert.False(map.TryGetNextKey(U32(3), next));
    }

    [Theory]
    [InlineData(MapType.PerCpuHash, 4)]
    [InlineData(MapType.PerCpuArray, 4)]
    [InlineData(MapType.LruPerCpuHash, 8)]
    [InlineData(MapType.PerCpuHash, 12)]
    public void Per_cpu_values_use_the_rounded_stride_for_every_possible_cpu(MapType type, int valueSize)
    {
        using var map = Hash(type: type, valueSize: valueSize);
        int stride = (valueSize + 7) / 8 * 8;
        Assert.Equal(PossibleCpus.Parse(File.ReadAllText("/sys/devices/system/cpu/possible")), map.Cpus);
        Assert.Equal(stride, map.ValueStride);
        Assert.Equal(stride * map.Cpus, map.ValueBufferSize);

        byte[] raw = new byte[map.ValueBufferSize];
        for (int cpu = 0; cpu < map.Cpus; cpu++)
        {
            BitConverter.GetBytes(100u + (uint)cpu).CopyTo(raw, cpu * stride);
        }

        map.Update(U32(1), raw);
        byte[] back = new byte[map.ValueBufferSize];
        Assert.True(map.TryLookup(U32(1), back));
        for (int cpu = 0; cpu < map.Cpus; cpu++)
        {
            Assert.Equal(100u + (uint)cpu, BitConverter.ToUInt32(back, cpu * stride));
        }

        var ex = Assert.Throws<MapSizeMismatchException>(() => map.Update(U32(1), new byte[valueSize]));
        Assert.Contains($"{valueSize} bytes", ex.Message);
        Assert.Contains($"{map.ValueBufferSize} bytes", ex.Message);
    }

    [Fact]
    public void Typed_per_cpu_view_has_the_batch_calls_at_both_strides()
    {
        // A u32 value sits in an 8-byte slot per CPU (copied through a scratch buffer); a u64 fills its slot (reinterpreted).
        using var narrowMap = Hash(type: MapType.PerCpuHash, valueSize: 4);
        using var wideMap = Hash(type: MapType.PerCpuHash, valueSize: 8);
        var narrow = new PerCpuBpfMap<uint, uint>(narrowMap);
        var wide = new PerCpuBpfMap<uint, ulong>(wideMap);
        int cpus = narrow.Cpus;
        uint[] keys = [1, 2, 3];
        uint[] narrowValues = [.. Enumerable.Range(0, keys.Length * cpus).Select(i => (uint)(1000 + i))];
        ulong[] wideValues = [.. narrowValues.Select(v => (ulong)v << 32 | v)];
        Assert.Equal(3, narrow.UpdateBatch(keys, narrowValues));
        Assert.Equal(3, wide.UpdateBatch(keys, wideValues));
        Assert.Throws<ArgumentException>(() => narrow.UpdateBatch(keys, narrowValues.AsSpan(1)));

        var gotKeys = new uint[8];
        var gotNarrow = new uint[8 * cpus];
        BatchResult r = narrow.LookupBatch(narrowMap.CreateCursor(), gotKeys, gotNarrow);
        Assert.Equal(3, r.Count);
        for (int i = 0; i < r.Count; i++)
        {
            int k = (int)gotKeys[i] - 1;
            Assert.Equal(narrowValues.AsSpan(k * cpus, cpus).ToArray(), gotNarrow.AsSpan(i * cpus, cpus).ToArray());
        }

        var gotWide = new ulong[8 * cpus];
        r = wide.LookupAndDeleteBatch(wideMap.CreateCursor(), gotKeys, gotWide);
        Assert.Equal(3, r.Count);
        for (int i = 0; i < r.Count; i++)
        {
            int k = (int)gotKeys[i] - 1;
            Assert.Equal(wideValues.AsSpan(k * cpus, cpus).ToArray(), gotWide.AsSpan(i * cpus, cpus).ToArray());
        }

        Assert.Equal(0, wideMap.CountEntries());
        Assert.Throws<ArgumentException>(() => narrow.LookupBatch(narrowMap.CreateCursor(), gotKeys, new uint[cpus]));

        // One way to say absent: a false Try…, for the element calls as for the batch ones.
        byte[] buffer = new byte[narrowMap.ValueBufferSize];
        Assert.True(narrow.TryLookupAndDelete(2, buffer, out PerCpuValues<uint> taken));
        Assert.Equal(narrowValues.AsSpan(cpus, cpus).ToArray(), taken.ToArray());
        Assert.False(narrow.TryLookupAndDelete(2, buffer, out _));
        Assert.Equal(2, narrow.DeleteBatch([1u, 3u]));
        Assert.Equal(0, narrowMap.CountEntries());
    }

    [Fact]
    public void Typed_per_cpu_view_hides_the_stride()
    {
        using var map = Hash(type: MapType.PerCpuHash, valueSize: 4);
        var typed = new PerCpuBpfMap<uint, uint>(map);
        uint[] values = Enumerable.Range(1, map.Cpus).Select(i => (uint)i * 10).ToArray();
        typed.Update(5, values);
        Assert.True(typed.TryLookup(5, out uint[]? found));
        Assert.Equal(values, found);
        Assert.False(typed.TryLookup(6, out uint[]? absent));
        Assert.Null(absent);
        foreach (var e in typed.Dump())
        {
            Assert.Equal(5u, e.Key);
            Assert.Equal(values.Sum(v => (long)v), (long)e.Values.Sum());
            Assert.Equal(10u, e.Values.Min());
            Assert.Equal(values[^1], e.Values.Max());
        }
    }

    [Fact]
    public void Typed_view_checks_sizes_once_and_names_both()
    {
        using var map = Hash(keySize: 4, valueSize: 8);
        var ex = Assert.Throws<ArgumentException>(() => new BpfMap<ulong, ulong>(map));
        Assert.Contains("8 bytes", ex.Message);
        Assert.Contains("key_size 4", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => new BpfMap<uint, uint>(map));
        Assert.Contains("value_size 8", ex2.Message);
        Assert.Contains("4 bytes", ex2.Message);

        var typed = new BpfMap<uint, ulong>(map);
        typed.Update(3, 33);
        Assert.True(typed.TryLookup(3, out ulong v));
        Assert.Equal(33UL, v);
        Assert.True(typed.TryLookupAndDelete(3, out v));
        Assert.Equal(33UL, v);
        Assert.False(typed.TryLookup(3, out _));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct LpmKey
    {
        public uint PrefixLen;
        public uint Addr;
    }

    [Fact]
    public void Lpm_trie_matches_the_longest_prefix()
    {
        Require();
        using var map = BpfMap.Create(new MapSpec { Type = MapType.LpmTrie, KeySize = 8, ValueSize = 8, MaxEntries = 16, Flags = MapFlags.NoPrealloc, Name = "t_lpm" });
        var trie = new BpfMap<LpmKey, ulong>(map);
        trie.Update(new LpmKey { PrefixLen = 8, Addr = 0x0000000a }, 8);     // 10.0.0.0/8
        trie.Update(new LpmKey { PrefixLen = 24, Addr = 0x0001000a }, 24);   // 10.0.1.0/24
        Assert.True(trie.TryLookup(new LpmKey { PrefixLen = 32, Addr = 0x0501000a }, out ulong v)); // 10.0.1.5
        Assert.Equal(24UL, v);
        Assert.True(trie.TryLookup(new LpmKey { PrefixLen = 32, Addr = 0x0502000a }, out v));     // 10.0.2.5
        Assert.Equal(8UL, v);
        Assert.False(trie.TryLookup(new LpmKey { PrefixLen = 32, Addr = 0x0000000b }, out _));
    }

    [Theory]
    [InlineData(MapType.HashOfMaps)]
    [InlineData(MapType.ArrayOfMaps)]
    public void Map_in_map_takes_an_fd_and_returns_the_inner_map_id(MapType type)
    {
        using var template = Hash(maxEntries: 4, name: "t_inner");
        using var outer = BpfMap.Create(new MapSpec { Type = type, KeySize = 4, ValueSize = 4, MaxEntries = 4, InnerMap = template, Name = "t_outer" });
        using var inner = Hash(maxEntries: 4, name: "t_inner2");
        outer.SetInnerMap(U32(1), inner);
        byte[] id = new byte[4];
        Assert.True(outer.TryLookup(U32(1), id));
        Assert.Equal(inner.Id, BitConverter.ToUInt32(id));
        Assert.NotEqual(0u, inner.Id);

        using var wrongShape = Hash(maxEntries: 4, keySize: 8);
        Assert.Equal(Errno.EINVAL, Assert.Throws<BpfException>(() => outer.SetInnerMap(U32(2), wrongShape)).Errno);

        var closed = Hash(maxEntries: 4, name: "t_closed");
        closed.Dispose();
        Assert.Equal(Errno.EBADF, Assert.Throws<BpfException>(() => outer.SetInnerMap(U32(3), closed)).Errno);
        Assert.False(outer.TryLookup(U32(3), id));
    }

    [Fact]
    public void Frozen_map_refuses_syscall_writes()
    {
        using var map = Hash();
        map.Update(U32(1), U64(1));
        map.Freeze();
        Assert.Equal(Errno.EPERM, Assert.Throws<BpfException>(() => map.Update(U32(1), U64(2))).Errno);
        Assert.True(map.TryLookup(U32(1), new byte[8]));
    }

    [Fact]
    public void Lookup_and_delete_elem_takes_the_value()
    {
        using var map = Hash();
        map.Update(U32(4), U64(44));
        byte[] v = new byte[8];
        Assert.True(map.TryLookupAndDelete(U32(4), v));
        Assert.Equal(44UL, BitConverter.ToUInt64(v));
        Assert.False(map.TryLookupAndDelete(U32(4), v));
    }

    [Fact]
    public void Pin_open_by_path_and_by_id_and_list_see_the_same_map()
    {
        using var map = Hash(name: "t_pinned");
        map.Update(U32(9), U64(99));
        string path = $"/sys/fs/bpf/bpfmaps_test_{Environment.ProcessId}_{Guid.NewGuid():N}"[..60];
        if (!Directory.Exists("/sys/fs/bpf"))
        {
            Assert.Skip("/sys/fs/bpf does not exist");
        }

        map.Pin(path);
        try
        {
            using var byPath = BpfMap.OpenPinned(path);
            Assert.Equal(map.Id, byPath.Id);
            byte[] v = new byte[8];
            Assert.True(byPath.TryLookup(U32(9), v));
            Assert.Equal(99UL, BitConverter.ToUInt64(v));

            using var byId = BpfMap.OpenById(map.Id);
            Assert.Equal("t_pinned", byId.Name);
            Assert.Equal(MapType.Hash, byId.Type);

            var info = BpfMap.ListSystemMaps().Single(i => i.Id == map.Id);
            Assert.Equal(new MapInfo(MapType.Hash, map.Id, 4, 8, 64, MapFlags.None, "t_pinned"), info with { BtfId = 0 });

            var again = Assert.Throws<BpfException>(() => map.Pin(path));
            Assert.Equal(Errno.EEXIST, again.Errno);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
