using System.Runtime.InteropServices;

namespace BpfMaps.Tests.Maps;

public class PerCpuReductionTests
{
    [Fact]
    public void Reduces_every_mode_in_one_pass()
    {
        var r = default(PerCpuReduction<long>);
        foreach (long v in new long[] { 7, -3, 12, 0 })
        {
            r.Add(v);
        }

        Assert.Equal(4, r.Count);
        Assert.Equal((16L, -3L, 12L), (r.Sum, r.Min, r.Max));
        Assert.Equal(4.0, r.Average);
        Assert.Equal(4L, r.Get(PerCpuMode.Avg));
        Assert.Equal(-3.0, r.ToDouble(PerCpuMode.Min));
        Assert.Equal(16.0, r.ToDouble(PerCpuMode.Sum));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Get(PerCpuMode.EachCpu));
    }

    [Fact]
    public void No_values_reduce_to_zero_and_integer_sums_wrap()
    {
        var none = default(PerCpuReduction<uint>);
        Assert.Equal((0u, 0u, 0u, 0.0), (none.Sum, none.Min, none.Max, none.Average));

        var wrap = default(PerCpuReduction<ulong>);
        wrap.Add(ulong.MaxValue);
        wrap.Add(2);
        Assert.Equal(1ul, wrap.Sum);
        Assert.Equal(2ul, wrap.Min);
        Assert.Equal(ulong.MaxValue, wrap.Max);
    }

    [Fact]
    public void Per_cpu_values_reduce_at_their_stride()
    {
        // Three CPUs of a 4-byte value sit 8 bytes apart; the padding must not be read as a value.
        byte[] raw = new byte[24];
        raw.AsSpan().Fill(0xEE);
        MemoryMarshal.Write(raw.AsSpan(0), 5u);
        MemoryMarshal.Write(raw.AsSpan(8), 1u);
        MemoryMarshal.Write(raw.AsSpan(16), 9u);
        var values = new PerCpuValues<uint>(raw, 3);
        Assert.Equal((15u, 1u, 9u, 5.0), (values.Sum(), values.Min(), values.Max(), values.Average()));
    }
}
