using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace BpfMaps.Btf;

/// <summary>
/// Formats values of one BTF type as bpftool's BTF dumper does: structs as objects, char arrays as
/// strings under bpftool's conditions, enums by name, bitfields and 128-bit integers in hex, pointers as
/// numbers. The type is compiled once into a flat plan; formatting walks the plan over the bytes and
/// allocates nothing.
/// </summary>
/// <remarks>
/// Where bpftool 7.1 fails, this formatter prints the value: floats are numbers (bpftool prints
/// "(unsupported-kind" and stops), and strings are escaped correctly (bpftool turns a backslash into
/// <c>\n</c>). Type tags are looked through like the other modifiers.
/// </remarks>
public sealed partial class BtfFormatter
{
    private const int MaxDepth = 64;
    private const int MaxNodes = 200_000;

    private readonly PlanNode[] _nodes;
    private readonly BtfName[] _names;
    private readonly EnumTable[] _enums;
    private readonly string[] _markers;
    private readonly int _root;

    private BtfFormatter(BtfSpec spec, uint typeId, PlanNode[] nodes, BtfName[] names, EnumTable[] enums, string[] markers, int root, int size, int reach)
    {
        Spec = spec;
        TypeId = typeId;
        _nodes = nodes;
        _names = names;
        _enums = enums;
        _markers = markers;
        _root = root;
        Size = size;
        Reach = reach;
    }

    /// <summary>The BTF the type belongs to.</summary>
    public BtfSpec Spec { get; }

    /// <summary>The type this formatter prints.</summary>
    public uint TypeId { get; }

    /// <summary>The type's size in bytes.</summary>
    public int Size { get; }

    /// <summary>How many bytes from the start formatting reads at most (never more than <see cref="Size"/>).</summary>
    public int Reach { get; }

    private const int MaxFields = 4096;
    private IReadOnlyList<BtfField>? _fields;

    /// <summary>
    /// The type's leaves, for one column each: struct members depth first, array elements one by one
    /// (char arrays stay one text field), data section variables by name.
    /// </summary>
    /// <exception cref="BtfException">The type has more than 4096 leaves.</exception>
    public IReadOnlyList<BtfField> Fields => _fields ??= CollectFields();

    /// <summary>Compiles the plan for type <paramref name="typeId"/> of <paramref name="spec"/>.</summary>
    /// <param name="spec">The BTF.</param>
    /// <param name="typeId">The type.</param>
    /// <returns>The formatter.</returns>
    /// <exception cref="BtfException">The type cannot be printed: it has no size, a member lies outside it, or it nests too deep.</exception>
    public static BtfFormatter Compile(BtfSpec spec, uint typeId)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var c = new Compiler(spec);
        long size = spec.SizeOf(typeId);
        int root = c.Add(c.Node(typeId, 0, 0, -1, 0));
        int reach = c.Reach(root);
        if (reach > size)
        {
            throw BtfException.AtType(typeId, $"its members reach byte {reach}, past its size of {size} bytes");
        }

        return new BtfFormatter(spec, typeId, [.. c.Nodes], [.. c.Names], [.. c.Enums], [.. c.Markers], root, (int)size, reach);
    }

    /// <summary>Writes the value in <paramref name="data"/> to <paramref name="sink"/>.</summary>
    /// <typeparam name="TSink">The sink type (a struct, for a specialised walk).</typeparam>
    /// <param name="sink">Where to write.</param>
    /// <param name="data">The value's bytes: at least <see cref="Reach"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is shorter than <see cref="Reach"/>.</exception>
    public void Write<TSink>(ref TSink sink, ReadOnlySpan<byte> data)
        where TSink : IBtfValueSink
    {
        if (data.Length < Reach)
        {
            throw new ArgumentException($"the value is {data.Length} bytes but type {TypeId} reads {Reach}", nameof(data));
        }

        if (typeof(TSink) == typeof(BtfJsonSink))
        {
            WriteCompactJson(ref Unsafe.As<TSink, BtfJsonSink>(ref sink), data);
            return;
        }

        Walk(ref sink, _root, data);
    }

    internal void WriteNode<TSink>(ref TSink sink, int index, ReadOnlySpan<byte> parent)
        where TSink : IBtfValueSink
        => Walk(ref sink, index, parent);

    internal bool TryReadInteger(int index, ReadOnlySpan<byte> parent, out Int128 value)
    {
        ref readonly PlanNode n = ref _nodes[index];
        ReadOnlySpan<byte> d = parent[n.Offset..];
        switch (n.Kind)
        {
            case PlanKind.Unsigned:
                value = ReadUnsigned(d, n.Bits / 8);
                return true;
            case PlanKind.Signed:
                value = n.Bits switch
                {
                    8 => (sbyte)d[0],
                    16 => BinaryPrimitives.ReadInt16LittleEndian(d),
                    32 => BinaryPrimitives.ReadInt32LittleEndian(d),
                    _ => BinaryPrimitives.ReadInt64LittleEndian(d),
                };
                return true;
            case PlanKind.Bool:
                value = d[0] != 0 ? 1 : 0;
                return true;
            case PlanKind.Char:
                value = d[0];
                return true;
            case PlanKind.Bits:
                UInt128 bits = ReadBits(d, n.BitOffset, n.Bits);
                value = bits > (UInt128)Int128.MaxValue ? Int128.MaxValue : (Int128)bits;
                return true;
            case PlanKind.Enum:
                value = _enums[n.Table].Is64 ? (Int128)ReadUnsigned(d, n.Size) : n.Size switch
                {
                    1 => (sbyte)d[0],
                    2 => BinaryPrimitives.ReadInt16LittleEndian(d),
                    4 => BinaryPrimitives.ReadInt32LittleEndian(d),
                    _ => BinaryPrimitives.ReadInt64LittleEndian(d),
                };
                return true;
            case PlanKind.Pointer:
                value = n.Size == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(d) : BinaryPrimitives.ReadUInt64LittleEndian(d);
                return true;
            default:
                value = 0;
                return false;
        }
    }

    internal double ReadFloat(int index, ReadOnlySpan<byte> parent)
    {
        ref readonly PlanNode n = ref _nodes[index];
        ReadOnlySpan<byte> d = parent[n.Offset..];
        return n.Size switch
        {
            8 => BinaryPrimitives.ReadDoubleLittleEndian(d),
            4 => BinaryPrimitives.ReadSingleLittleEndian(d),
            _ => (double)BinaryPrimitives.ReadHalfLittleEndian(d),
        };
    }

    private List<BtfField> CollectFields()
    {
        var fields = new List<BtfField>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Collect(_root, 0, string.Empty, fields, seen, 0);
        return fields;
    }

    private void Collect(int index, int parentOffset, string path, List<BtfField> into, HashSet<string> seen, int depth)
    {
        PlanNode n = _nodes[index];
        int here = parentOffset + n.Offset;
        switch (n.Kind)
        {
            case PlanKind.Struct:
                for (int i = 0; i < n.Count; i++)
                {
                    int child = n.First + i;
                    string name = _names[_nodes[child].Name].Text;
                    Collect(child, here, Join(path, name), into, seen, depth + 1);
                }

                break;
            case PlanKind.Array:
                for (int i = 0; i < n.Count; i++)
                {
                    Collect(n.First, here + (i * n.Stride), $"{path}[{i}]", into, seen, depth + 1);
                }

                break;
            case PlanKind.Variable:
                Collect(n.First, here, Join(path, _names[n.Name].Text), into, seen, depth + 1);
                break;
            case PlanKind.DataSection:
                for (int i = 0; i < n.Count; i++)
                {
                    Collect(n.First + i, here, path, into, seen, depth + 1);
                }

                break;
            default:
                if (into.Count >= MaxFields)
                {
                    throw BtfException.AtType(TypeId, $"more than {MaxFields} fields: too many to show as columns");
                }

                string unique = path;
                for (int k = 2; !seen.Add(unique); k++)
                {
                    unique = $"{path}#{k}";
                }

                int size = n.Kind switch
                {
                    PlanKind.Unsigned or PlanKind.Signed => n.Bits / 8,
                    PlanKind.Bool or PlanKind.Char => 1,
                    PlanKind.Bits => (n.BitOffset + n.Bits + 7) / 8,
                    _ => n.Size,
                };
                into.Add(new BtfField(this, index, parentOffset, unique, n.Kind switch
                {
                    PlanKind.Unsigned => BtfFieldKind.Unsigned,
                    PlanKind.Signed => BtfFieldKind.Signed,
                    PlanKind.Bool => BtfFieldKind.Boolean,
                    PlanKind.Char => BtfFieldKind.Character,
                    PlanKind.Bits => BtfFieldKind.Bits,
                    PlanKind.Float => BtfFieldKind.Float,
                    PlanKind.Enum => BtfFieldKind.Enum,
                    PlanKind.Pointer => BtfFieldKind.Pointer,
                    PlanKind.CharArray => BtfFieldKind.Text,
                    _ => BtfFieldKind.Other,
                }, here, size));
                break;
        }

        static string Join(string path, string name) => name.Length == 0 ? path : path.Length == 0 ? name : $"{path}.{name}";
    }

    private void Walk<TSink>(ref TSink sink, int index, ReadOnlySpan<byte> parent)
        where TSink : IBtfValueSink
    {
        ref readonly PlanNode n = ref _nodes[index];
        ReadOnlySpan<byte> d = parent[n.Offset..];
        if (!TryWriteLeaf(ref sink, in n, d))
        {
            WriteComposite(ref sink, in n, d);
        }
    }

    /// <summary>
    /// Writes a node that holds one value (an integer, float, enum, pointer or marker). Inlined into the
    /// loops over members and elements, so a struct of scalars is written without a call per member.
    /// </summary>
    /// <returns>False for a struct, array, variable or section, which <see cref="WriteComposite"/> writes.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryWriteLeaf<TSink>(ref TSink sink, ref readonly PlanNode n, ReadOnlySpan<byte> d)
        where TSink : IBtfValueSink
    {
        switch (n.Kind)
        {
            case PlanKind.Unsigned:
                sink.WriteUnsigned(n.Bits switch
                {
                    8 => d[0],
                    16 => BinaryPrimitives.ReadUInt16LittleEndian(d),
                    32 => BinaryPrimitives.ReadUInt32LittleEndian(d),
                    _ => BinaryPrimitives.ReadUInt64LittleEndian(d),
                });
                return true;
            case PlanKind.Signed:
                sink.WriteSigned(n.Bits switch
                {
                    8 => (sbyte)d[0],
                    16 => BinaryPrimitives.ReadInt16LittleEndian(d),
                    32 => BinaryPrimitives.ReadInt32LittleEndian(d),
                    _ => BinaryPrimitives.ReadInt64LittleEndian(d),
                });
                return true;
            case PlanKind.Bool:
                sink.WriteBoolean(d[0] != 0);
                return true;
            case PlanKind.Char:
                sink.WriteChar(d[0]);
                return true;
            case PlanKind.Bits:
                sink.WriteHex(ReadBits(d, n.BitOffset, n.Bits));
                return true;
            case PlanKind.Float:
                WriteFloat(ref sink, d, n.Size);
                return true;
            case PlanKind.Enum:
                WriteEnum(ref sink, _enums[n.Table], d, n.Size);
                return true;
            case PlanKind.Pointer:
                sink.WritePointer(n.Size == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(d) : BinaryPrimitives.ReadUInt64LittleEndian(d));
                return true;
            case PlanKind.Marker:
                sink.WriteMarker(_markers[n.Table]);
                return true;
            default:
                return false;
        }
    }

    private void WriteComposite<TSink>(ref TSink sink, ref readonly PlanNode n, ReadOnlySpan<byte> d)
        where TSink : IBtfValueSink
    {
        switch (n.Kind)
        {
            case PlanKind.Struct:
                sink.StartObject();
                for (int i = 0; i < n.Count; i++)
                {
                    ref readonly PlanNode child = ref _nodes[n.First + i];
                    sink.WriteName(_names[child.Name]);
                    ReadOnlySpan<byte> c = d[child.Offset..];
                    if (!TryWriteLeaf(ref sink, in child, c))
                    {
                        WriteComposite(ref sink, in child, c);
                    }
                }

                sink.EndObject();
                break;
            case PlanKind.CharArray when IsString(d[..n.Count]) is int len and >= 0:
                sink.WriteString(d[..len]);
                break;
            case PlanKind.CharArray:
            case PlanKind.Array:
                sink.StartArray();
                ref readonly PlanNode element = ref _nodes[n.First];
                for (int i = 0; i < n.Count; i++)
                {
                    ReadOnlySpan<byte> e = d[((i * n.Stride) + element.Offset)..];
                    if (!TryWriteLeaf(ref sink, in element, e))
                    {
                        WriteComposite(ref sink, in element, e);
                    }
                }

                sink.EndArray();
                break;
            case PlanKind.Variable:
                sink.StartObject();
                sink.WriteName(_names[n.Name]);
                Walk(ref sink, n.First, d);
                sink.EndObject();
                break;
            case PlanKind.DataSection:
                sink.StartObject();
                sink.WriteName(_names[n.Name]);
                sink.StartArray();
                for (int i = 0; i < n.Count; i++)
                {
                    Walk(ref sink, n.First + i, d);
                }

                sink.EndArray();
                sink.EndObject();
                break;
            default:
                sink.WriteMarker(_markers[n.Table]);
                break;
        }
    }

    private static void WriteFloat<TSink>(ref TSink sink, ReadOnlySpan<byte> d, int size)
        where TSink : IBtfValueSink
    {
        if (size == 8)
        {
            sink.WriteFloat(BinaryPrimitives.ReadDoubleLittleEndian(d), fromFloat32: false);
        }
        else if (size == 4)
        {
            sink.WriteFloat(BinaryPrimitives.ReadSingleLittleEndian(d), fromFloat32: true);
        }
        else
        {
            sink.WriteFloat((double)BinaryPrimitives.ReadHalfLittleEndian(d), fromFloat32: true);
        }
    }

    private static void WriteEnum<TSink>(ref TSink sink, EnumTable table, ReadOnlySpan<byte> d, int size)
        where TSink : IBtfValueSink
    {
        // bpftool reads a 32-bit-table enum as a signed number of its size and compares it with the
        // sign-extended enumerators; an enum64 as 64 unsigned bits. Unmatched values print signed.
        long value = table.Is64
            ? (long)ReadUnsigned(d, size)
            : size switch
            {
                1 => (sbyte)d[0],
                2 => BinaryPrimitives.ReadInt16LittleEndian(d),
                4 => BinaryPrimitives.ReadInt32LittleEndian(d),
                _ => BinaryPrimitives.ReadInt64LittleEndian(d),
            };
        BtfName? name = table.Find(value);
        if (name is not null)
        {
            sink.WriteEnumName(name);
        }
        else
        {
            sink.WriteSigned(value);
        }
    }

    /// <summary>bpftool's string test: a NUL within the array, and only 0x20..0x7e before it. Returns the length, or -1.</summary>
    private static int IsString(ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == 0)
            {
                return i;
            }

            if (b <= 0x1f || b >= 0x7f)
            {
                return -1;
            }
        }

        return -1;
    }

    private static ulong ReadUnsigned(ReadOnlySpan<byte> d, int size) => size switch
    {
        1 => d[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(d),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(d),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(d),
    };

    /// <summary>Reads <paramref name="bits"/> bits starting <paramref name="bitOffset"/> bits into <paramref name="d"/>, little-endian.</summary>
    internal static UInt128 ReadBits(ReadOnlySpan<byte> d, int bitOffset, int bits)
    {
        int bytes = (bitOffset + bits + 7) / 8;
        Span<byte> buf = stackalloc byte[17];
        buf.Clear();
        d[..bytes].CopyTo(buf);
        UInt128 v = BinaryPrimitives.ReadUInt128LittleEndian(buf);
        if (bytes == 17)
        {
            v >>= bitOffset;
            v |= (UInt128)buf[16] << (128 - bitOffset);
        }
        else
        {
            v >>= bitOffset;
        }

        return bits >= 128 ? v : v & ((UInt128.One << bits) - 1);
    }

    internal enum PlanKind : byte
    {
        Unsigned,
        Signed,
        Bool,
        Char,
        Bits,
        Float,
        Enum,
        Pointer,
        Struct,
        Array,
        CharArray,
        Variable,
        DataSection,
        Marker,
    }

    /// <summary>One node of the plan. Offsets are relative to the parent's start.</summary>
    internal struct PlanNode
    {
        public PlanKind Kind;
        public byte BitOffset;
        public short Bits;
        public int Offset;
        public int Size;
        public int First;
        public int Count;
        public int Stride;
        public int Name;
        public int Table;
        public uint TypeId;
    }

    /// <summary>An enum's enumerators, searched as bpftool does: the first that matches wins.</summary>
    internal sealed class EnumTable(bool is64, long[] values, BtfName[] names)
    {
        private readonly Dictionary<long, BtfName>? _index = values.Length > 16 ? Index(values, names) : null;

        public bool Is64 { get; } = is64;

        public BtfName? Find(long value)
        {
            if (_index is not null)
            {
                return _index.GetValueOrDefault(value);
            }

            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] == value)
                {
                    return names[i];
                }
            }

            return null;
        }

        private static Dictionary<long, BtfName> Index(long[] values, BtfName[] names)
        {
            var d = new Dictionary<long, BtfName>(values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                d.TryAdd(values[i], names[i]);
            }

            return d;
        }
    }
}
