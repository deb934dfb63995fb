using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// Bob Jenkins' lookup3 hash in the two shapes the kernel's htab uses: over u32 words when the key
/// length is a multiple of 4, else over bytes. Bucket placement, and with it every iteration order,
/// depends on getting this bit-exact.
/// </summary>
internal static class JHash
{
    private const uint InitVal = 0xdeadbeef;

    /// <summary>The htab hash of <paramref name="key"/> with <paramref name="seed"/> as initval.</summary>
    public static uint Hash(ReadOnlySpan<byte> key, uint seed)
        => (key.Length & 3) == 0 ? Words(key, seed) : Bytes(key, seed);

    /// <summary>
    /// What a one-word hash computes before it sees the key: b, c and the first step of the final
    /// mix depend on the seed only.
    /// </summary>
    public readonly record struct WordState(uint A, uint B, uint C);

    public static WordState Prepare(uint seed)
    {
        uint a = InitVal + 4 + seed;
        uint b = a;
        uint c = a;
        c ^= b; c -= BitOperations.RotateLeft(b, 14);
        return new WordState(a, b, c);
    }

    /// <summary><see cref="Word(uint, uint)"/> with the seed-only part done in advance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Word(uint k, in WordState s)
    {
        uint a = s.A + k;
        uint b = s.B;
        uint c = s.C;
        a ^= c; a -= BitOperations.RotateLeft(c, 11);
        b ^= a; b -= BitOperations.RotateLeft(a, 25);
        c ^= b; c -= BitOperations.RotateLeft(b, 16);
        a ^= c; a -= BitOperations.RotateLeft(c, 4);
        b ^= a; b -= BitOperations.RotateLeft(a, 14);
        c ^= b; c -= BitOperations.RotateLeft(b, 24);
        return c;
    }

    /// <summary>The word hash of a single u32 key: the fast path for 4-byte keys.</summary>
    public static uint Word(uint k, uint seed)
    {
        uint a = InitVal + 4 + seed;
        uint b = a;
        uint c = a;
        a += k;
        Final(ref a, ref b, ref c);
        return c;
    }

    /// <summary>Hash over <c>key.Length / 4</c> native-endian u32 words.</summary>
    public static uint Words(ReadOnlySpan<byte> key, uint seed)
    {
        int n = key.Length >> 2;
        uint a = InitVal + ((uint)n << 2) + seed;
        uint b = a;
        uint c = a;
        int i = 0;
        while (n > 3)
        {
            a += Read(key, i);
            b += Read(key, i + 4);
            c += Read(key, i + 8);
            Mix(ref a, ref b, ref c);
            n -= 3;
            i += 12;
        }

        switch (n)
        {
            case 3:
                c += Read(key, i + 8);
                goto case 2;
            case 2:
                b += Read(key, i + 4);
                goto case 1;
            case 1:
                a += Read(key, i);
                Final(ref a, ref b, ref c);
                break;
        }

        return c;
    }

    /// <summary>Hash over bytes, for keys whose length is not a multiple of 4.</summary>
    public static uint Bytes(ReadOnlySpan<byte> key, uint seed)
    {
        int length = key.Length;
        uint a = InitVal + (uint)length + seed;
        uint b = a;
        uint c = a;
        int i = 0;
        while (length > 12)
        {
            a += Read(key, i);
            b += Read(key, i + 4);
            c += Read(key, i + 8);
            Mix(ref a, ref b, ref c);
            length -= 12;
            i += 12;
        }

        ReadOnlySpan<byte> k = key[i..];
        switch (length)
        {
            case 12:
                c += (uint)k[11] << 24;
                goto case 11;
            case 11:
                c += (uint)k[10] << 16;
                goto case 10;
            case 10:
                c += (uint)k[9] << 8;
                goto case 9;
            case 9:
                c += k[8];
                goto case 8;
            case 8:
                b += (uint)k[7] << 24;
                goto case 7;
            case 7:
                b += (uint)k[6] << 16;
                goto case 6;
            case 6:
                b += (uint)k[5] << 8;
                goto case 5;
            case 5:
                b += k[4];
                goto case 4;
            case 4:
                a += (uint)k[3] << 24;
                goto case 3;
            case 3:
                a += (uint)k[2] << 16;
                goto case 2;
            case 2:
                a += (uint)k[1] << 8;
                goto case 1;
            case 1:
                a += k[0];
                Final(ref a, ref b, ref c);
                break;
        }

        return c;
    }

    // Keys are read in CPU byte order, as the kernel does; BpfMaps only runs on little-endian Linux.
    private static uint Read(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    private static void Mix(ref uint a, ref uint b, ref uint c)
    {
        a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
        a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
        b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
        c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
    }

    private static void Final(ref uint a, ref uint b, ref uint c)
    {
        c ^= b; c -= BitOperations.RotateLeft(b, 14);
        a ^= c; a -= BitOperations.RotateLeft(c, 11);
        b ^= a; b -= BitOperations.RotateLeft(a, 25);
        c ^= b; c -= BitOperations.RotateLeft(b, 16);
        a ^= c; a -= BitOperations.RotateLeft(c, 4);
        b ^= a; b -= BitOperations.RotateLeft(a, 14);
        c ^= b; c -= BitOperations.RotateLeft(b, 24);
    }
}
