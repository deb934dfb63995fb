namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// One suite, every map type, both backends: each kind knows how to create a map of 10 slots, build key i
/// and value i, and check a value read back (map-in-map values are written as the inner map's descriptor on
/// the kernel, its id on the engine, and read back as ids on both).
/// </summary>
public sealed class MapKind : IDisposable
{
    private readonly List<BpfMap> _inner = [];

    private MapKind(Backend backend, string name, MapType type)
    {
        Backend = backend;
        Name = name;
        Type = type;
    }

    public Backend Backend { get; }

    public string Name { get; }

    public MapType Type { get; }

    public BpfMap Map { get; private set; } = null!;

    public bool CanDelete => !Type.IsArray();

    public bool HasLookupAndDeleteBatch => Type.IsHashTable();

    public override string ToString() => $"{Name} ({Backend})";

    public static readonly string[] All = ["hash", "percpu_hash", "lru_hash", "lru_percpu_hash", "array", "percpu_array", "lpm_trie", "hash_of_maps", "array_of_maps"];

    /// <summary>The kinds the in-process engine does not implement (docs/performance.md, "Types"); <see cref="AllData"/> runs them on the kernel only.</summary>
    public static readonly string[] KernelOnly = ["lpm_trie"];

    /// <summary>
    /// Every kind on every backend, but the <see cref="KernelOnly"/> kinds on the kernel only: the engine refuses
    /// to create them, which the suites check in a test of their own instead of in each case.
    /// </summary>
    public static TheoryData<Backend, string> AllData()
    {
        var d = new TheoryData<Backend, string>();
        foreach (Backend backend in Enum.GetValues<Backend>())
        {
            foreach (string n in All)
            {
                if (backend == Backend.Kernel || !KernelOnly.Contains(n))
                {
                    d.Add(backend, n);
                }
            }
        }

        return d;
    }

    /// <summary>The spec of kind <paramref name="name"/> with <paramref name="entries"/> slots (map-in-map: without its template).</summary>
    public static MapSpec SpecOf(string name, int entries = 10)
    {
        Assert.True(MapTypeExtensions.TryParseKernelName(name, out MapType type));
        return type switch
        {
            MapType.LpmTrie => new MapSpec { Type = type, KeySize = 8, ValueSize = 8, MaxEntries = entries, Flags = MapFlags.NoPrealloc },
            MapType.HashOfMaps or MapType.ArrayOfMaps => new MapSpec { Type = type, KeySize = 4, ValueSize = 4, MaxEntries = entries },
            // LRU maps hand out free elements through per-CPU caches and may evict before they are full:
            // give them room so that 10 entries stay 10 entries.
            MapType.LruHash or MapType.LruPerCpuHash => new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = Math.Max(entries, 1024) },
            _ => new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = entries },
        } with { Name = "st_" + (name.Length > 12 ? name[..12] : name) };
    }

    /// <summary>Creates a kind on <paramref name="backend"/> (the kernel case skips when bpf() is unavailable).</summary>
    public static MapKind Create(Backend backend, string name, int entries = 10)
    {
        Backends.Require(backend);
        Assert.True(MapTypeExtensions.TryParseKernelName(name, out MapType type));
        var kind = new MapKind(backend, name, type);
        MapSpec spec = SpecOf(name, entries);
        if (type.IsMapInMap())
        {
            spec = spec with { InnerMap = kind.Inner(-1) };
        }

        kind.Map = Backends.Create(backend, spec);
        return kind;
    }

    private BpfMap Inner(int i)
    {
        var m = Backends.Create(Backend, new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = $"st_inner{(i < 0 ? "t" : i.ToString())}" });
        _inner.Add(m);
        return m;
    }

    public byte[] Key(int i)
    {
        byte[] k = new byte[Map.KeySize];
        if (Type == MapType.LpmTrie)
        {
            BitConverter.GetBytes(32u).CopyTo(k, 0);
            BitConverter.GetBytes(0x0a000000u + (uint)i).CopyTo(k, 4);
        }
        else
        {
            BitConverter.GetBytes((uint)i).CopyTo(k, 0);
        }

        return k;
    }

    public int KeyIndex(ReadOnlySpan<byte> key)
        => Type == MapType.LpmTrie ? (int)(BitConverter.ToUInt32(key[4..]) - 0x0a000000u) : (int)BitConverter.ToUInt32(key);

    private readonly Dictionary<int, BpfMap> _innerFor = [];

    public byte[] Value(int i)
    {
        byte[] v = new byte[Map.ValueBufferSize];
        if (Type.IsMapInMap())
        {
            if (!_innerFor.TryGetValue(i, out var inner))
            {
                inner = _innerFor[i] = Inner(i);
            }

            // The value names the inner map as the backend does: a descriptor for the kernel, an id for the engine.
            uint named = Backend == Backend.Kernel ? (uint)inner.Handle!.DangerousGetHandle().ToInt32() : inner.Id;
            BitConverter.GetBytes(named).CopyTo(v, 0);
            return v;
        }

        for (int cpu = 0; cpu < Map.Cpus; cpu++)
        {
            BitConverter.GetBytes((ulong)(i * 1000 + cpu + 1)).CopyTo(v, cpu * Map.ValueStride);
        }

        return v;
    }

    public void CheckValue(int i, ReadOnlySpan<byte> value)
    {
        if (Type.IsMapInMap())
        {
            Assert.Equal(_innerFor[i].Id, BitConverter.ToUInt32(value));
            return;
        }

        for (int cpu = 0; cpu < Map.Cpus; cpu++)
        {
            Assert.Equal((ulong)(i * 1000 + cpu + 1), BitConverter.ToUInt64(value[(cpu * Map.ValueStride)..]));
        }
    }

    public void Fill(int n)
    {
        var keys = new byte[n * Map.KeySize];
        var values = new byte[n * Map.ValueBufferSize];
        for (int i = 0; i < n; i++)
        {
            Key(i).CopyTo(keys, i * Map.KeySize);
            Value(i).CopyTo(values, i * Map.ValueBufferSize);
        }

        Assert.Equal(n, Map.UpdateBatch(keys, values, n));
    }

    public void Dispose()
    {
        Map?.Dispose();
        foreach (var m in _inner)
        {
            m.Dispose();
        }
    }
}
