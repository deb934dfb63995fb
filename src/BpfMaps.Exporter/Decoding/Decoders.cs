using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace BpfMaps.Exporter.Decoding;

/// <summary>Parses decoder names and turns key bytes into label text and value bytes into numbers.</summary>
internal static class Decoders
{
    /// <summary>The label decoder names, as the config spells them.</summary>
    public static readonly string[] FieldTypeNames =
        ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "be16", "be32", "be64", "hex", "ipv4", "ipv6", "string"];

    /// <summary>The value type names, as the config spells them.</summary>
    public static readonly string[] ValueTypeNames = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];

    /// <summary>The per-CPU mode names, as the config spells them.</summary>
    public static readonly string[] PerCpuNames = ["sum", "min", "max", "avg", "cpu"];

    public static bool TryParseField(string? name, out FieldType type) => TryParse(name, FieldTypeNames, out type);

    public static bool TryParseValue(string? name, out ValueType type) => TryParse(name, ValueTypeNames, out type);

    public static bool TryParsePerCpu(string? name, out PerCpuMode mode)
    {
        mode = name?.ToLowerInvariant() switch
        {
            "sum" => PerCpuMode.Sum,
            "min" => PerCpuMode.Min,
            "max" => PerCpuMode.Max,
            "avg" => PerCpuMode.Avg,
            "cpu" => PerCpuMode.EachCpu,
            _ => (PerCpuMode)(-1),
        };
        return Enum.IsDefined(mode);
    }

    private static bool TryParse<T>(string? name, string[] names, out T value) where T : struct, Enum
    {
        int i = name is null ? -1 : Array.IndexOf(names, name.ToLowerInvariant());
        value = i < 0 ? default : (T)(object)i;
        return i >= 0;
    }

    /// <summary>The byte size of a fixed-size label decoder, or null for hex and string.</summary>
    public static int? FixedSize(FieldType type) => type switch
    {
        FieldType.U8 or FieldType.I8 => 1,
        FieldType.U16 or FieldType.I16 or FieldType.Be16 => 2,
        FieldType.U32 or FieldType.I32 or FieldType.Be32 or FieldType.Ipv4 => 4,
        FieldType.U64 or FieldType.I64 or FieldType.Be64 => 8,
        FieldType.Ipv6 => 16,
        _ => null,
    };

    /// <summary>The byte size of a value type.</summary>
    public static int Size(ValueType type) => type switch
    {
        ValueType.U8 or ValueType.I8 => 1,
        ValueType.U16 or ValueType.I16 => 2,
        ValueType.U32 or ValueType.I32 => 4,
        _ => 8,
    };

    /// <summary>Formats one key field as label text: integers in host byte order unless <c>be*</c>.</summary>
    public static string FormatLabel(FieldType type, ReadOnlySpan<byte> b) => type switch
    {
        FieldType.U8 => b[0].ToString(CultureInfo.InvariantCulture),
        FieldType.U16 => MemoryMarshal.Read<ushort>(b).ToString(CultureInfo.InvariantCulture),
        FieldType.U32 => MemoryMarshal.Read<uint>(b).ToString(CultureInfo.InvariantCulture),
        FieldType.U64 => MemoryMarshal.Read<ulong>(b).ToString(CultureInfo.InvariantCulture),
        FieldType.I8 => ((sbyte)b[0]).ToString(CultureInfo.InvariantCulture),
        FieldType.I16 => MemoryMarshal.Read<short>(b).ToString(CultureInfo.InvariantCulture),
        FieldType.I32 => MemoryMarshal.Read<int>(b).ToString(CultureInfo.InvariantCulture),
        FieldType.I64 => MemoryMarshal.Read<long>(b).ToString(CultureInfo.InvariantCulture),
        FieldType.Be16 => BinaryPrimitives.ReadUInt16BigEndian(b).ToString(CultureInfo.InvariantCulture),
        FieldType.Be32 => BinaryPrimitives.ReadUInt32BigEndian(b).ToString(CultureInfo.InvariantCulture),
        FieldType.Be64 => BinaryPrimitives.ReadUInt64BigEndian(b).ToString(CultureInfo.InvariantCulture),
        FieldType.Hex => Convert.ToHexStringLower(b),
        FieldType.Ipv4 or FieldType.Ipv6 => new IPAddress(b).ToString(),
        FieldType.String => AsciiUntilNul(b),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static string AsciiUntilNul(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        ReadOnlySpan<byte> s = nul < 0 ? b : b[..nul];
        // Label values must be valid UTF-8; bytes that are not become U+FFFD rather than failing the scrape.
        return Encoding.UTF8.GetString(s);
    }

    /// <summary>Reads one value field as a double (exact up to 2^53).</summary>
    public static double ReadValue(ValueType type, ReadOnlySpan<byte> b) => type switch
    {
        ValueType.U8 => b[0],
        ValueType.U16 => MemoryMarshal.Read<ushort>(b),
        ValueType.U32 => MemoryMarshal.Read<uint>(b),
        ValueType.U64 => MemoryMarshal.Read<ulong>(b),
        ValueType.I8 => (sbyte)b[0],
        ValueType.I16 => MemoryMarshal.Read<short>(b),
        ValueType.I32 => MemoryMarshal.Read<int>(b),
        _ => MemoryMarshal.Read<long>(b),
    };
}
