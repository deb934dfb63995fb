using System.Globalization;
using System.Text;
using BpfMaps.Btf;

namespace BpfMaps.Tests.Btf;

/// <summary>The integer formatting of the JSON sink prints what ToString (and bpftool's %llu/%lld) print.</summary>
public sealed class AsciiDigitsTests
{
    private static IEnumerable<ulong> Unsigned()
    {
        for (ulong v = 0; v < 1200; v++)
        {
            yield return v;
        }

        for (ulong p = 10; p != 0 && p <= 10_000_000_000_000_000_000; p = p > ulong.MaxValue / 10 ? 0 : p * 10)
        {
            yield return p - 1;
            yield return p;
            yield return p + 1;
        }

        yield return uint.MaxValue - 1;
        yield return uint.MaxValue;
        yield return (ulong)uint.MaxValue + 1;
        yield return ulong.MaxValue;
        var rng = new Random(5);
        for (int i = 0; i < 200_000; i++)
        {
            // Every magnitude alike: 64 random bits, shifted right by a random amount.
            yield return (((ulong)rng.NextInt64() << 1) | (uint)rng.Next(2)) >> rng.Next(64);
        }
    }

    [Fact]
    public void Unsigned_values_print_as_ToString_does()
    {
        byte[] buffer = new byte[AsciiDigits.MaxUnsigned + 8];
        foreach (ulong v in Unsigned())
        {
            Array.Fill(buffer, (byte)'#');
            int n = AsciiDigits.WriteUnsigned(v, ref buffer[0]);
            Assert.Equal(v.ToString(CultureInfo.InvariantCulture), Encoding.ASCII.GetString(buffer, 0, n));
            Assert.Equal(n, AsciiDigits.CountDigits(v));
            Assert.All(buffer[AsciiDigits.MaxUnsigned..], b => Assert.Equal((byte)'#', b));
        }
    }

    [Fact]
    public void Signed_values_print_as_ToString_does()
    {
        byte[] buffer = new byte[AsciiDigits.MaxSigned + 8];
        foreach (ulong u in Unsigned().Concat([unchecked((ulong)long.MinValue), (ulong)long.MaxValue, unchecked((ulong)-1L)]))
        {
            long v = unchecked((long)u);
            Array.Fill(buffer, (byte)'#');
            int n = AsciiDigits.WriteSigned(v, ref buffer[0]);
            Assert.Equal(v.ToString(CultureInfo.InvariantCulture), Encoding.ASCII.GetString(buffer, 0, n));
            Assert.All(buffer[AsciiDigits.MaxSigned..], b => Assert.Equal((byte)'#', b));
        }
    }
}
