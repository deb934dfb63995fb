using BpfMaps.Exporter.Decoding;
using ValueType = BpfMaps.Exporter.Decoding.ValueType;

namespace BpfMaps.Exporter.Tests;

public sealed class DecoderTests
{
    [Theory]
    [InlineData("u8", new byte[] { 200 }, "200")]
    [InlineData("i8", new byte[] { 0xFF }, "-1")]
    [InlineData("u16", new byte[] { 0x01, 0x02 }, "513")]
    [InlineData("be16", new byte[] { 0x01, 0xBB }, "443")]
    [InlineData("i16", new byte[] { 0xFE, 0xFF }, "-2")]
    [InlineData("u32", new byte[] { 0x2A, 0, 0, 0 }, "42")]
    [InlineData("be32", new byte[] { 0, 0, 0x01, 0x00 }, "256")]
    [InlineData("i32", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, "-1")]
    [InlineData("u64", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, "18446744073709551615")]
    [InlineData("i64", new byte[] { 0, 0, 0, 0, 0, 0, 0, 0x80 }, "-9223372036854775808")]
    [InlineData("be64", new byte[] { 0, 0, 0, 0, 0, 0, 0x10, 0 }, "4096")]
    [InlineData("hex", new byte[] { 0x0A, 0xFF, 0x00 }, "0aff00")]
    [InlineData("ipv4", new byte[] { 192, 168, 1, 20 }, "192.168.1.20")]
    [InlineData("ipv6", new byte[] { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, "2001:db8::1")]
    [InlineData("string", new byte[] { (byte)'e', (byte)'t', (byte)'h', (byte)'0', 0, (byte)'x' }, "eth0")]
    [InlineData("string", new byte[] { (byte)'l', (byte)'o' }, "lo")]
    [InlineData("STRING", new byte[] { (byte)'a', 0 }, "a")]
    public void Labels_format(string decoder, byte[] bytes, string expected)
    {
        Assert.True(Decoders.TryParseField(decoder, out FieldType type));
        Assert.Equal(expected, Decoders.FormatLabel(type, bytes));
        if (Decoders.FixedSize(type) is { } size)
        {
            Assert.Equal(bytes.Length, size);
        }
    }

    [Theory]
    [InlineData("u24")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_decoders_do_not_parse(string? name) => Assert.False(Decoders.TryParseField(name, out _));

    [Theory]
    [InlineData("u8", new byte[] { 255 }, 255.0)]
    [InlineData("i8", new byte[] { 0x80 }, -128.0)]
    [InlineData("u16", new byte[] { 0xFF, 0xFF }, 65535.0)]
    [InlineData("i16", new byte[] { 0x00, 0x80 }, -32768.0)]
    [InlineData("u32", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, 4294967295.0)]
    [InlineData("i32", new byte[] { 0xFE, 0xFF, 0xFF, 0xFF }, -2.0)]
    [InlineData("u64", new byte[] { 0, 0, 0, 0, 0, 0, 0x20, 0 }, 9007199254740992.0)]
    [InlineData("i64", new byte[] { 0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }, -5.0)]
    public void Values_read(string type, byte[] bytes, double expected)
    {
        Assert.True(Decoders.TryParseValue(type, out ValueType t));
        Assert.Equal(bytes.Length, Decoders.Size(t));
        Assert.Equal(expected, Decoders.ReadValue(t, bytes));
    }

    [Theory]
    [InlineData("id 42", "id 42", "id 42")]
    [InlineData("  pinned /sys/fs/bpf/tc/globals/counts ", "pinned /sys/fs/bpf/tc/globals/counts", "counts")]
    [InlineData("name xdp_stats", "name xdp_stats", "xdp_stats")]
    public void Selectors_parse(string text, string canonical, string label)
    {
        MapSelector? s = MapSelector.TryParse(text, out string? error);
        Assert.Null(error);
        Assert.Equal(canonical, s!.ToString());
        Assert.Equal(label, s.DefaultLabel);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("00:00:03", 3_000)]
    public void Intervals_parse(string text, int ms) => Assert.Equal(TimeSpan.FromMilliseconds(ms), ConfigValues.ParseInterval(text));

    [Theory]
    [InlineData("127.0.0.1:9435", "127.0.0.1", 9435)]
    [InlineData("[::1]:9000", "[::1]", 9000)]
    [InlineData("localhost:80", "localhost", 80)]
    [InlineData("", null, 0)]
    public void Listen_parses(string text, string? host, int port) => Assert.Equal((host, port), ConfigValues.ParseListen(text));

    [Fact]
    public void Config_paths_read_like_the_json() =>
        Assert.Equal("maps[0].metrics[12].perCpu", ConfigKeys.PathOf("Maps:0:METRICS:12:percpu"));
}
