using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfMaps.Btf;

/// <summary>
/// Decimal integers as ASCII, written straight to a destination the caller has made room for: what
/// <c>%llu</c>/<c>%lld</c> print. No loop on the digit count, which varies from value to value and
/// mispredicts: below 100 one or two digits are written directly; below 10^8 all eight digits are
/// computed (four pairs from independent multiplies) and the last <c>n</c> stored with one word write,
/// the leading zeros shifted out; above, the high one or two digits go first.
/// </summary>
internal static class AsciiDigits
{
    /// <summary>Room <see cref="WriteSigned"/> needs: a minus sign and 19 digits.</summary>
    public const int MaxSigned = 20;

    /// <summary>Room <see cref="WriteUnsigned"/> needs: 20 digits (word stores never reach past them).</summary>
    public const int MaxUnsigned = 20;

    private static ReadOnlySpan<ulong> PowersOf10 =>
    [
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000,
        1000000000000, 10000000000000, 100000000000000, 1000000000000000, 10000000000000000, 100000000000000000,
        1000000000000000000, 10000000000000000000,
    ];

    // "00" to "99".
    private static ReadOnlySpan<byte> Pairs =>
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    /// <summary>Digits of <paramref name="value"/>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>1 to 20.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountDigits(ulong value)
    {
        // floor(log10(2^bits)) is bits * 1233 >> 12 for 64 bits; one compare corrects it.
        int bits = 64 - BitOperations.LeadingZeroCount(value | 1);
        int t = (bits * 1233) >> 12;
        int digits = t + 1 - (value < Unsafe.Add(ref MemoryMarshal.GetReference(PowersOf10), t) ? 1 : 0);
        return digits == 0 ? 1 : digits;
    }

    /// <summary>Writes <paramref name="value"/> at <paramref name="dest"/>, which has room for <see cref="MaxUnsigned"/> bytes.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dest">Where the first digit goes.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteUnsigned(ulong value, ref byte dest)
    {
        if (value <= uint.MaxValue)
        {
            return WriteUInt32((uint)value, ref dest);
        }

        // Above 32 bits, peel off the low eight digits with one 64-bit division.
        (ulong high, ulong low) = Math.DivRem(value, 100_000_000);
        int n = WriteUnsigned(high, ref dest);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dest, n), ToLittleEndian(EightDigits((uint)low)));
        return n + 8;
    }

    /// <summary>Writes <paramref name="value"/> at <paramref name="dest"/>, which has room for <see cref="MaxSigned"/> bytes.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dest">Where the sign or first digit goes.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteSigned(long value, ref byte dest)
    {
        if (value >= 0)
        {
            return WriteUnsigned((ulong)value, ref dest);
        }

        dest = (byte)'-';
        return 1 + WriteUnsigned(0 - (ulong)value, ref Unsafe.Add(ref dest, 1));
    }

    /// <summary>Up to ten digits; stores reach at most 10 bytes past <paramref name="dest"/>.</summary>
    private static int WriteUInt32(uint value, ref byte dest)
    {
        // Small values (counters at zero, flags, ports of well-known services) skip the divisions.
        if (value < 100)
        {
            if (value < 10)
            {
                dest = (byte)('0' + value);
                return 1;
            }

            Unsafe.WriteUnaligned(ref dest, ToLittleEndian(Pair(value)));
            return 2;
        }

        int n = CountDigits(value);
        if (value < 100_000_000)
        {
            // In memory order the leading zeros come first, in the word's low bytes: shift them out.
            ulong digits = ToLittleEndian(EightDigits(value));
            Unsafe.WriteUnaligned(ref dest, BitConverter.IsLittleEndian ? digits >> ((8 - n) * 8) : digits << ((8 - n) * 8));
            return n;
        }

        uint high = value / 100_000_000;
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dest, n - 8), ToLittleEndian(EightDigits(value - (high * 100_000_000))));
        if (n == 10)
        {
            Unsafe.WriteUnaligned(ref dest, ToLittleEndian(Pair(high)));
        }
        else
        {
            dest = (byte)('0' + high);
        }

        return n;
    }

    /// <summary>Eight ASCII digits of <paramref name="value"/> (below 10^8) as a number whose low byte is the first digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong EightDigits(uint value)
    {
        uint a = value / 10_000, b = value - (a * 10_000);
        uint a1 = a / 100, a2 = a - (a1 * 100);
        uint b1 = b / 100, b2 = b - (b1 * 100);
        return Pair(a1) | ((ulong)Pair(a2) << 16) | ((ulong)Pair(b1) << 32) | ((ulong)Pair(b2) << 48);
    }

    /// <summary>Two ASCII digits of <paramref name="value"/> (below 100) as a number whose low byte is the first digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Pair(uint value)
    {
        ref byte at = ref Unsafe.Add(ref MemoryMarshal.GetReference(Pairs), (int)value * 2);
        return (ushort)(at | (Unsafe.Add(ref at, 1) << 8));
    }

    /// <summary>The number whose low byte is the first digit, as a word to store in memory order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ToLittleEndian(ulong digits) => BitConverter.IsLittleEndian ? digits : BinaryPrimitives.ReverseEndianness(digits);

    /// <summary>The pair whose low byte is the first digit, as a word to store in memory order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort ToLittleEndian(ushort pair) => BitConverter.IsLittleEndian ? pair : BinaryPrimitives.ReverseEndianness(pair);
}
