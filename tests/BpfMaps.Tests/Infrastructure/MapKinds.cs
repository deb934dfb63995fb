namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// One suite, every map type: each kind knows how to create a map of 10 slots, build key i and
/// value i, and check a value read back (map-in-map values are written as fds, read as ids).
/// </summary>
public sealed class MapKind : IDisposable
{
    private readonly List<BpfMap> _inner = [];

    private MapKind(string name, MapType type)
    {
        Name = name;
        Type = type;
    }

    public string Name { get; }

    public MapType Type { get; }

    public BpfMap Map { get; private set; } = null!;

    public bool CanDelete => !Type.IsArray();

    public bool HasLookupAndDeleteBatch => Type.IsHashTable();

    public override string ToString() => Name;

    public static readonly string[] All = ["hash", "percpu_hash", "lru_hash", "lru_percpu_hash", "array", "percpu_array", "lpm_trie", "hash_of_maps", "array_of_maps"];

    public static TheoryData<string> AllData()
    {
        var d = new TheoryData<string>();
        foreach (string n in All)
        {
            d.Add(n);
        }

        return d;
    }

    public static MapKind Create(string name, int entries = 10)
    {
        Kernel.Require();
        Assert.True(MapTypeExtensions.TryParseKernelName(name, out MapType type));
        var kind = new MapKind(name, type);
        MapSpec spec = type switch
        {
            MapType.LpmTrie => new MapSpec { Type = type, KeySize = 8, ValueSize = 8, MaxEntries = entries, Flags = MapFlags.NoPrealloc },
            MapType.HashOfMaps or MapType.ArrayOfMaps => new MapSpec { Type = type, KeySize = 4, ValueSize = 4, MaxEntries = entries, InnerMap = kind.Inner(-1) },
            // LRU maps hand out free elements through per-CPU caches and may evict before they are full:
            // give them room so that 10 entries stay 10 entries.
            MapType.LruHash or MapType.LruPerCpuHash => new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = Math.Max(entries, 1024) },
            _ => new MapSpec { Type = type, KeySize = 4, ValueSize = 8, MaxEntries = entries },
        };
        kind.Map = BpfMap.Create(spec with { Name = "st_" + (name.Length > 12 ? name[..12] : name) });
        return kind;
    }

    private BpfMap Inner(int i)
    {
        var m = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1, Name = $"st_inner{(i < 0 ? "t" : i.ToString())}" });
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

            BitConverter.GetBytes(inner.Handle!.DangerousGetHandle().ToInt32()).CopyTo(v, 0);
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
