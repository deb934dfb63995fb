namespace BpfMaps.Exporter.Decoding;

/// <summary>How a byte range of a key becomes a label value.</summary>
internal enum FieldType
{
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    Be16,
    Be32,
    Be64,
    Hex,
    Ipv4,
    Ipv6,
    String,
}

/// <summary>How a value field becomes a number.</summary>
internal enum ValueType
{
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
}
