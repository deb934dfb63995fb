using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Input;
using BpfMaps.Cli.Output;
using BpfMaps.Cli.Watch;
using BpfMaps.Cli.Commands;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Tests;

/// <summary>DATA, selectors, ordering and the watch model: pure logic.</summary>
public class InputTests
{
    private static Words W(string s) => new(s.Split(' ', StringSplitOptions.RemoveEmptyEntries), "test");

    [Theory]
    [InlineData("1 0 0 0", new byte[] { 1, 0, 0, 0 })]
    [InlineData("0x01 0x2 255 017", new byte[] { 1, 2, 255, 15 })]
    [InlineData("hex 01 ff 0a 00", new byte[] { 1, 255, 10, 0 })]
    [InlineData("hex 1 f a 0", new byte[] { 1, 15, 10, 0 })]
    public void Data_forms_of_bpftool(string text, byte[] expected)
        => Assert.Equal(expected, ByteData.Read(W(text), "key", 4));

    [Fact]
    public void Data_stops_at_the_next_keyword()
    {
        var w = W("key 1 0 0 0 value 5");
        w.Expect("key");
        Assert.Equal(new byte[] { 1, 0, 0, 0 }, ByteData.Read(w, "key", 4));
        Assert.Equal("value", w.Peek);
    }

    [Theory]
    [InlineData("1 0 zz 0")]
    [InlineData("1 0 256 0")]
    [InlineData("hex 01 0g 00 00")]
    [InlineData("0x 0 0 0")]
    [InlineData("08 0 0 0")]
    public void Malformed_data_is_bad_data(string text)
        => Assert.Equal(ExitCode.BadData, Assert.Throws<CliException>(() => ByteData.Read(W(text), "key", 4)).Code);

    [Theory]
    [InlineData("1 0 0")]
    [InlineData("1 0 0 0 0")]
    [InlineData("")]
    [InlineData("hex 01 02 03 04 05")]
    public void Wrong_length_is_a_size_mismatch(string text)
    {
        var e = Assert.Throws<CliException>(() => ByteData.Read(W(text), "key", 4));
        Assert.Equal(ExitCode.SizeMismatch, e.Code);
        Assert.Contains("expects 4", e.Message);
    }

    [Fact]
    public void Key_prefix_hex_strings()
    {
        Assert.Equal(new byte[] { 0x0a, 0 }, ByteData.ParseHexString("0a00"));
        Assert.Equal(new byte[] { 0x0a, 0 }, ByteData.ParseHexString("0x0a00"));
        Assert.Equal(ExitCode.BadData, Assert.Throws<CliException>(() => ByteData.ParseHexString("abc")).Code);
    }

    [Theory]
    [InlineData("id 12", "Id", "12")]
    [InlineData("pinned /sys/fs/bpf/x", "Pinned", "/sys/fs/bpf/x")]
    [InlineData("name counts", "Name", "counts")]
    public void Selectors(string text, string kind, string value)
    {
        MapSelector s = MapSelector.Read(W(text));
        Assert.Equal((Enum.Parse<MapSelectorKind>(kind), value), (s.Kind, s.Value));
        Assert.Equal(text, s.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("idx 3")]
    [InlineData("id")]
    [InlineData("id abc")]
    [InlineData("id 0")]
    [InlineData("id -3")]
    [InlineData("name a_name_that_is_too_long")]
    public void Bad_selectors(string text)
        => Assert.Equal(ExitCode.BadSelector, Assert.Throws<CliException>(() => MapSelector.Read(W(text))).Code);

    [Fact]
    public void Ordering_sorts_by_key_and_by_value_and_keeps_top()
    {
        var layout = new EntryLayout(4, 8);
        var values = new ulong[] { 5, 50, 7, 1, 99 };
        List<uint> Keys(SortOrder sort, int top)
        {
            var o = new EntryOrdering(layout, sort, top);
            for (uint k = 0; k < values.Length; k++)
            {
                o.Add(BitConverter.GetBytes(4 - k), BitConverter.GetBytes(values[k]));
            }

            var got = new List<uint>();
            var sink = new CollectingRenderer(got);
            o.Emit(sink);
            return got;
        }

        Assert.Equal([0u, 1, 2, 3, 4], Keys(SortOrder.Key, 0));
        Assert.Equal([0u, 3, 2, 4, 1], Keys(SortOrder.Value, 0));
        Assert.Equal([0u, 3], Keys(SortOrder.None, 2));
    }

    private sealed class CollectingRenderer(List<uint> keys) : IEntryRenderer
    {
        public void Begin()
        {
        }

        public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => keys.Add(BitConverter.ToUInt32(key));

        public void End(long count)
        {
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void Watch_dump_mode_baselines_the_first_tick_then_tracks_deltas()
    {
        var m = new WatchModel(top: 2, increments: false);
        m.BeginTick();
        m.Add([1], 10);
        m.Add([2], 20);
        WatchFrame f1 = m.EndTick(1);
        Assert.Equal(0, f1.TotalDelta);
        Assert.Equal(30, f1.Total);

        m.BeginTick();
        m.Add([1], 40);
        m.Add([2], 25);
        m.Add([3], 1);
        WatchFrame f2 = m.EndTick(0.5);
        Assert.Equal(36, f2.TotalDelta);
        Assert.Equal(72, f2.TotalRate);
        Assert.Equal(2, f2.Top.Count);
        Assert.Equal(new byte[] { 1 }, f2.Top[0].Key);
        Assert.Equal(60, f2.Top[0].Rate);
        Assert.Equal(3, f2.Keys);
    }

    [Fact]
    public void Watch_drain_mode_accumulates_increments()
    {
        var m = new WatchModel(top: 10, increments: true);
        m.BeginTick();
        m.Add([1], 10);
        Assert.Equal(10, m.EndTick(1).TotalDelta);
        m.BeginTick();
        m.Add([1], 5);
        WatchFrame f = m.EndTick(1);
        Assert.Equal(15, f.Total);
        Assert.Equal(5, f.Top[0].Delta);
        Assert.Equal(15, m.Drained);
    }

    [Fact]
    public void Error_report_classifies_without_stack_traces()
    {
        Assert.Equal(ExitCode.PermissionDenied, ErrorReport.Classify(new BpfException(Errno.EPERM, BpfCommand.BPF_MAP_GET_NEXT_ID)).Code);
        Assert.Equal(ExitCode.MapNotFound, ErrorReport.Classify(new BpfException(Errno.ENOENT, BpfCommand.BPF_OBJ_GET)).Code);
        Assert.Equal(ExitCode.KernelError, ErrorReport.Classify(new BpfException(Errno.E2BIG, BpfCommand.BPF_MAP_UPDATE_ELEM)).Code);
        Assert.Equal(ExitCode.NotSupported, ErrorReport.Classify(new BpfNotSupportedException("x", "5.6", Errno.ENOTSUPP)).Code);
        Assert.Equal(ExitCode.NotSupported, ErrorReport.Classify(new BpfNotSupportedException("x", null, Errno.EPERM, BpfCommand.BPF_OBJ_GET)).Code);
        Assert.Equal(ExitCode.NoBtf, ErrorReport.Classify(new BpfException(Errno.ENOENT, BpfCommand.BPF_BTF_GET_FD_BY_ID)).Code);
        Assert.Equal(ExitCode.KernelError, ErrorReport.Classify(new BpfException(Errno.ENOENT, BpfCommand.BPF_MAP_LOOKUP_ELEM)).Code);
        Assert.Equal(ExitCode.KernelError, ErrorReport.Classify(new BpfException(Errno.ENOENT, KernelCall.Mmap, null)).Code);
        var (size, sizeText) = ErrorReport.Classify(new MapSizeMismatchException("key is 3 bytes but the map expects 4 bytes", "key", 4, 3));
        Assert.Equal(ExitCode.SizeMismatch, size);
        Assert.Equal("key is 3 bytes but the map expects 4 bytes", sizeText);

        // Only a size mismatch is a size mismatch: any other bad argument is the caller's usage.
        Assert.Equal(ExitCode.Usage, ErrorReport.Classify(new ArgumentException("batch size 0 must be positive", "options")).Code);
        var (code, msg) = ErrorReport.Classify(new InvalidOperationException("boom\nline2"));
        Assert.Equal(ExitCode.Failure, code);
        Assert.DoesNotContain("\n", msg);
    }

    [Fact]
    public void Format_resolution()
    {
        Assert.Equal(OutputFormat.Table, new GlobalOptions().Resolve(stdoutIsTerminal: true));
        Assert.Equal(OutputFormat.Plain, new GlobalOptions().Resolve(stdoutIsTerminal: false));
        Assert.Equal(OutputFormat.Json, new GlobalOptions { Json = true }.Resolve(true));
        Assert.Equal(OutputFormat.Json, new GlobalOptions { Pretty = true }.Resolve(false));
        Assert.Equal(OutputFormat.Csv, new GlobalOptions { Json = true, Format = OutputFormat.Csv }.Resolve(false));
    }
}
