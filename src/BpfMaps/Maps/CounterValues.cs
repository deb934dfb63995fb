using System.Buffers.Binary;

namespace BpfMaps;

/// <summary>Reads u64 counter values out of value buffers (one value, or one per CPU at an 8-byte stride).</summary>
internal static class CounterValues
{
    public static ulong Sum(ReadOnlySpan<byte> value, int cpus)
    {
        ulong total = 0;
        for (int cpu = 0; cpu < cpus; cpu++)
        {
            total += BinaryPrimitives.ReadUInt64LittleEndian(value.Slice(cpu * 8, 8));
        }

        return total;
    }

    public static CounterDrainPass Consume(MapEntries entries, int cpus, CounterVisitor? visitor, int entriesSoFar = 0, ulong totalSoFar = 0)
    {
        int n = entriesSoFar;
        ulong total = totalSoFar;
        foreach (MapEntry e in entries)
        {
            ulong v = Sum(e.Value, cpus);
            visitor?.Invoke(e.Key, v);
            n++;
            total += v;
        }

        return new CounterDrainPass(n, total);
    }

    public static void CheckShape(BpfMap map, string param)
    {
        if (map.ValueSize != 8)
        {
            throw new ArgumentException($"counters are u64: the map's value size is {map.ValueSize} bytes, expected 8", param);
        }
    }
}
