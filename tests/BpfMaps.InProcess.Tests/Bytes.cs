using System.Buffers.Binary;

namespace BpfMaps.InProcess.Tests;

internal static class Bytes
{
    public static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    public static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    /// <summary>Deterministic pseudo-random bytes from a seed.</summary>
    public static byte[] Fill(int length, int seed)
    {
        var b = new byte[length];
        uint x = (uint)seed * 2654435761u + 0x9E3779B9u;
        for (int i = 0; i < length; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            b[i] = (byte)x;
        }

        return b;
    }

    public static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b);

    /// <summary>All keys in get_next_key order.</summary>
    public static List<byte[]> WalkKeys(IMapBackend m, int keySize)
    {
        var keys = new List<byte[]>();
        byte[]? prev = null;
        var next = new byte[keySize];
        while (m.GetNextKey(prev ?? ReadOnlySpan<byte>.Empty, next) == 0 && keys.Count <= 100_000)
        {
            keys.Add((byte[])next.Clone());
            prev = (byte[])next.Clone();
        }

        return keys;
    }
}
