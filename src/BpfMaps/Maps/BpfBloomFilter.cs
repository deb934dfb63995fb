namespace BpfMaps;

/// <summary>
/// A typed view over a bloom filter map (BPF_MAP_TYPE_BLOOM_FILTER, Linux 5.16) of <typeparamref name="T"/>
/// values. <see cref="MayContain"/> never says false for a value that was added, but may say true for one
/// that was not. Values cannot be removed. The value size is checked once, here.
/// </summary>
/// <typeparam name="T">Value type; its size must equal value_size.</typeparam>
public sealed class BpfBloomFilter<T>
    where T : unmanaged
{
    /// <summary>Creates the view.</summary>
    /// <param name="map">A bloom filter map (not owned: disposing the view is not needed).</param>
    /// <exception cref="ArgumentException">The map is not a bloom filter, or value_size differs from <typeparamref name="T"/>'s size; the message names both.</exception>
    public BpfBloomFilter(BpfMap map)
    {
        Keyless.Check<T>(map, MapType.BloomFilter, nameof(BpfBloomFilter<T>));
        Map = map;
    }

    /// <summary>The untyped map.</summary>
    public BpfMap Map { get; }

    /// <summary>Adds <paramref name="value"/> (BPF_MAP_UPDATE_ELEM without a key: a push).</summary>
    /// <param name="value">The value.</param>
    /// <exception cref="BpfException">EPERM: frozen or read-only.</exception>
    public void Add(in T value) => Map.Push(Keyless.Bytes(in value));

    /// <summary>Whether <paramref name="value"/> may have been added (BPF_MAP_LOOKUP_ELEM without a key: a peek).</summary>
    /// <param name="value">The value to test.</param>
    /// <returns>False: definitely never added. True: probably added (false positives are possible).</returns>
    /// <exception cref="BpfException">Kernel errors other than ENOENT.</exception>
    public bool MayContain(in T value) => Map.MayContain(Keyless.Bytes(in value));
}
