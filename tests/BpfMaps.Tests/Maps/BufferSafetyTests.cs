using System.Runtime.InteropServices;
using BpfMaps.Kernel;
using BpfMaps.Tests.Infrastructure;
using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>
/// The kernel reads and writes as many bytes as key_size, the value layout and the batch count say,
/// whatever the caller's spans are. These cases once wrote past the spans; each now throws before
/// the syscall. The reflection sweep in Safety/ covers every public span-taking method; these pin the
/// exact messages and the sentinel bytes for the cases that were reported.
/// </summary>
public sealed unsafe class BufferSafetyTests
{
    private const byte Sentinel = 0xA5;

    [Fact]
    public void Lookup_batch_or_errno_refuses_a_count_larger_than_the_spans()
    {
        using var map = FilledHash(1000);
        using var region = new SentinelRegion(64 * 1024);
        var cursor = map.CreateCursor();

        var e = Assert.Throws<MapSizeMismatchException>(() =>
        {
            int count = 512;
            map.LookupBatchOrErrno(false, cursor, region.Carve(16 * 1024, 4 * 4), region.Carve(32 * 1024, 4 * 8), ref count);
        });

        Assert.Equal("keys buffer is 16 bytes but 512 entries of 4 bytes need 2048 (Parameter 'keys')", e.Message);
        Assert.Equal(0, region.BytesChangedOutside());
        Assert.False(cursor.Started);
    }

    [Fact]
    public void Lookup_batch_or_errno_refuses_a_negative_count_and_values_shorter_than_the_count()
    {
        using var map = FilledHash(100);
        var cursor = map.CreateCursor();
        int negative = -1;
        Assert.Throws<ArgumentOutOfRangeException>(() => map.LookupBatchOrErrno(false, cursor, new byte[16], new byte[32], ref negative));

        int four = 4;
        var e = Assert.Throws<MapSizeMismatchException>(() => map.LookupBatchOrErrno(true, cursor, new byte[16], new byte[24], ref four));
        Assert.Contains("values buffer is 24 bytes but 4 entries of 8 bytes need 32", e.Message);
        Assert.Equal(100, map.CountEntries());
    }

    [Fact]
    public void Lookup_batch_or_errno_within_its_spans_still_works()
    {
        using var map = FilledHash(1000);
        var cursor = map.CreateCursor();
        byte[] keys = new byte[64 * 4], values = new byte[64 * 8];
        int total = 0, err;
        do
        {
            int count = 64;
            err = map.LookupBatchOrErrno(false, cursor, keys, values, ref count);
            Assert.True(err is 0 or Errno.ENOENT, $"errno {err}");
            Assert.InRange(count, 0, 64);
            total += count;
        }
        while (err == 0);

        Assert.Equal(1000, total);
    }

    [Fact]
    public void Kernel_backend_checks_every_span_against_the_map()
    {
        using var map = FilledHash(1000);
        IMapBackend backend = map.Backend;
        using var region = new SentinelRegion(64 * 1024);

        Assert.Contains("value buffer is 4 bytes but one value of this map needs 8",
            Assert.Throws<MapSizeMismatchException>(() => backend.Lookup(BitConverter.GetBytes(1u), region.Carve(1024, 4), 0)).Message);
        Assert.Contains("key buffer is 2 bytes but the map's key_size is 4",
            Assert.Throws<MapSizeMismatchException>(() => backend.Delete(region.Carve(2048, 2))).Message);
        Assert.Contains("nextKey buffer is 3 bytes",
            Assert.Throws<MapSizeMismatchException>(() => backend.GetNextKey(default, region.Carve(3000, 3))).Message);

        uint count = 512;
        var batch = Assert.Throws<MapSizeMismatchException>(() =>
        {
            uint c = count;
            Span<byte> cursor = stackalloc byte[4];
            return backend.LookupBatch(false, default, cursor, region.Carve(8192, 16), region.Carve(16384, 32), ref c, 0, 0);
        });
        Assert.Contains("512 entries of 4 bytes need 2048", batch.Message);
        Assert.Contains("outBatch buffer is 2 bytes",
            Assert.Throws<MapSizeMismatchException>(() =>
            {
                uint c = 4;
                return backend.LookupBatch(false, default, region.Carve(4000, 2), new byte[16], new byte[32], ref c, 0, 0);
            }).Message);
        Assert.Contains("values buffer is 8 bytes but 2 entries of 8 bytes need 16",
            Assert.Throws<MapSizeMismatchException>(() =>
            {
                uint c = 2;
                return backend.UpdateBatch(new byte[8], region.Carve(5000, 8), ref c, 0, 0);
            }).Message);
        Assert.Contains("keys buffer is 4 bytes but 3 entries",
            Assert.Throws<MapSizeMismatchException>(() =>
            {
                uint c = 3;
                return backend.DeleteBatch(region.Carve(6000, 4), ref c, 0, 0);
            }).Message);

        Assert.Equal(0, region.BytesChangedOutside());
        Assert.Equal(1000, map.CountEntries());
    }

    [Fact]
    public void Per_cpu_value_buffers_are_checked_for_every_cpu()
    {
        using var map = Hash(type: MapType.PerCpuHash, valueSize: 4);
        int need = 8 * map.Cpus;
        var e = Assert.Throws<MapSizeMismatchException>(() => map.Backend.Lookup(new byte[4], new byte[need - 1], 0));
        Assert.Contains($"needs {need}", e.Message);
        Assert.Equal(need, map.Layout.ValueBufferSize);
    }

    [Fact]
    public void Kernel_backend_reads_the_map_sizes_from_the_kernel()
    {
        using var map = Hash(keySize: 12, valueSize: 40);
        var dup = new BpfFd(BpfMaps.Interop.Interop.Dup(((BpfFd)map.Handle!).Value));
        using var backend = new KernelMapBackend(dup);
        Assert.Equal(12, backend.Info.KeySize);
        Assert.Equal(40, backend.Info.ValueSize);
        Assert.Throws<MapSizeMismatchException>(() => backend.Lookup(new byte[12], new byte[39], 0));
    }

    [Fact]
    public void Kernel_backend_refuses_a_descriptor_that_is_not_a_map()
    {
        Require();
        var b = new BpfMaps.Btf.BtfBuilder();
        b.AddInt("int", 4, isSigned: true);
        using var btf = BpfMaps.Btf.BtfObject.Load(b.Build());
        using var dup = new BpfFd(BpfMaps.Interop.Interop.Dup(btf.Fd.Value));
        var e = Assert.Throws<BpfException>(() => new KernelMapBackend(dup));
        Assert.Contains("not a map", e.Message);
    }

    [Theory]
    [InlineData("/sys/fs/bpf/a\0b")]
    [InlineData("\0")]
    public void Paths_with_a_nul_are_refused_not_cut(string path)
    {
        var open = Assert.Throws<ArgumentException>(() => BpfMap.OpenPinned(path));
        Assert.Equal("path", open.ParamName);
        Assert.Contains("NUL character at index", open.Message);
        Assert.Throws<ArgumentException>(() => BpfFs.IsOnBpfFs(path));
        Assert.Throws<ArgumentException>(() => BpfFs.WhyNotAPin(path));
        Assert.Throws<ArgumentException>(() => BpfFs.WhyCannotPinAt(path));

        if (Available)
        {
            using var map = Hash();
            Assert.Throws<ArgumentException>(() => map.Pin(path));
        }
    }

    [Fact]
    public void Btf_names_with_a_nul_are_refused()
    {
        var b = new BpfMaps.Btf.BtfBuilder();
        var e = Assert.Throws<ArgumentException>(() => b.AddInt("in\0t", 4, isSigned: true));
        Assert.Equal("name", e.ParamName);

        // Nothing was added: the first type the builder takes still gets id 1.
        Assert.Equal(1u, b.AddInt("int", 4, isSigned: true));
    }

    private static BpfMap FilledHash(int n)
    {
        var map = Hash(maxEntries: n);
        var typed = new BpfMap<uint, ulong>(map);
        uint[] keys = Enumerable.Range(0, n).Select(i => (uint)i).ToArray();
        ulong[] values = keys.Select(k => (ulong)k * 3).ToArray();
        typed.UpdateBatch(keys, values);
        return map;
    }

    /// <summary>Native memory filled with a sentinel; spans are carved from it so a write past one lands in sentinel bytes.</summary>
    private sealed class SentinelRegion : IDisposable
    {
        private readonly byte* _base;
        private readonly int _length;
        private readonly List<(int Offset, int Length)> _carved = [];

        public SentinelRegion(int length)
        {
            _length = length;
            _base = (byte*)NativeMemory.Alloc((nuint)length);
            new Span<byte>(_base, length).Fill(Sentinel);
        }

        public Span<byte> Carve(int offset, int length)
        {
            _carved.Add((offset, length));
            return new Span<byte>(_base + offset, length);
        }

        /// <summary>Bytes that are no longer the sentinel outside every carved span (and outside <paramref name="allowed"/>).</summary>
        public int BytesChangedOutside(params (int Offset, int Length)[] allowed)
        {
            int changed = 0;
            for (int i = 0; i < _length; i++)
            {
                if (_base[i] != Sentinel && !allowed.Concat(_carved).Any(a => i >= a.Offset && i < a.Offset + a.Length))
                {
                    changed++;
                }
            }

            return changed;
        }

        public void Dispose() => NativeMemory.Free(_base);
    }
}
