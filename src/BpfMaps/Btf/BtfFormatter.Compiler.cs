namespace BpfMaps.Btf;

public sealed partial class BtfFormatter
{
    /// <summary>Turns a type into plan nodes, resolving what bpftool resolves on every entry once.</summary>
    private sealed class Compiler(BtfSpec spec)
    {
        private readonly Dictionary<string, int> _nameIndex = new(StringComparer.Ordinal);
        private readonly Dictionary<uint, int> _enumIndex = [];

        public List<PlanNode> Nodes { get; } = [];

        public List<BtfName> Names { get; } = [];

        public List<EnumTable> Enums { get; } = [];

        public List<string> Markers { get; } = [];

        public int Add(PlanNode node)
        {
            if (Nodes.Count >= MaxNodes)
            {
                throw BtfException.AtType(node.TypeId, $"the type expands to more than {MaxNodes} members");
            }

            Nodes.Add(node);
            return Nodes.Count - 1;
        }

        /// <summary>
        /// The node that prints type <paramref name="typeId"/> at <paramref name="offset"/> bytes and
        /// <paramref name="bitOffset"/> bits into its parent; <paramref name="name"/> is the member name's index or -1.
        /// </summary>
        public PlanNode Node(uint typeId, int offset, int bitOffset, int name, int depth)
        {
            if (depth > MaxDepth)
            {
                throw BtfException.AtType(typeId, $"types nest deeper than {MaxDepth}");
            }

            var node = new PlanNode { Offset = offset, Name = name, TypeId = typeId };
            BtfType t = spec.TypeById(typeId);
            switch (t.Kind)
            {
                case BtfKind.Typedef:
                case BtfKind.Const:
                case BtfKind.Volatile:
                case BtfKind.Restrict:
                case BtfKind.TypeTag:
                    BtfType resolved = spec.ResolveModifiers(typeId);
                    return resolved.Kind == BtfKind.Void
                        ? Marker(node, "(unknown)")
                        : Node(resolved.Id, offset, bitOffset, name, depth + 1);
                case BtfKind.Int:
                    return Int(node, t, bitOffset);
                case BtfKind.Float:
                    node.Size = (int)t.Size;
                    if (t.Size is 2 or 4 or 8)
                    {
                        node.Kind = PlanKind.Float;
                    }
                    else
                    {
                        node.Kind = PlanKind.Bits;
                        node.Bits = (short)(t.Size * 8);
                    }

                    return node;
                case BtfKind.Enum:
                case BtfKind.Enum64:
                    node.Kind = PlanKind.Enum;
                    node.Size = (int)t.Size;
                    node.Table = EnumTableOf(t);
                    return node;
                case BtfKind.Pointer:
                    node.Kind = PlanKind.Pointer;
                    node.Size = spec.PointerSize;
                    return node;
                case BtfKind.Array:
                    return Array(node, t, depth);
                case BtfKind.Struct:
                case BtfKind.Union:
                    return Composite(node, t, depth);
                case BtfKind.Variable:
                    node.Kind = PlanKind.Variable;
                    node.Name = NameIndex(t.Name);
                    node.Size = (int)spec.SizeOf(typeId);
                    node.First = Add(Node(t.Type, 0, bitOffset, -1, depth + 1));
                    return node;
                case BtfKind.DataSection:
                    return DataSection(node, t, depth);
                case BtfKind.Forward:
                    return Marker(node, "(fwd-kind-invalid)");
                case BtfKind.Void:
                    return Marker(node, "(unknown)");
                default:
                    return Marker(node, "(unsupported-kind)");
            }
        }

        public int Reach(int index) => Reach(index, 0);

        private int Reach(int index, int depth)
        {
            PlanNode n = Nodes[index];
            long end = n.Kind switch
            {
                PlanKind.Unsigned or PlanKind.Signed => n.Bits / 8,
                PlanKind.Bool or PlanKind.Char => 1,
                PlanKind.Bits => (n.BitOffset + n.Bits + 7) / 8,
                PlanKind.Float or PlanKind.Pointer or PlanKind.Enum => n.Size,
                PlanKind.Struct or PlanKind.DataSection => Children(n, depth),
                PlanKind.Array or PlanKind.CharArray => n.Count == 0 ? 0
                    : Math.Max((((long)n.Count - 1) * n.Stride) + Reach(n.First, depth + 1), n.Kind == PlanKind.CharArray ? n.Count : 0),
                PlanKind.Variable => Reach(n.First, depth + 1),
                _ => 0,
            };
            long total = n.Offset + end;
            return total > int.MaxValue ? throw BtfException.AtType(n.TypeId, "the value reaches past 2 GiB") : (int)total;
        }

        private long Children(PlanNode n, int depth)
        {
            long max = 0;
            for (int i = 0; i < n.Count; i++)
            {
                max = Math.Max(max, Reach(n.First + i, depth + 1));
            }

            return max;
        }

        private static PlanNode Int(PlanNode node, BtfType t, int bitOffset)
        {
            node.Size = (int)t.Size;
            int bits = t.IntBits;
            int total = bitOffset + t.IntBitOffset;
            if (total != 0 || bits % 8 != 0 || bits == 128 || (bits is not (8 or 16 or 32 or 64) && !t.IsBool && !t.IsChar))
            {
                node.Kind = PlanKind.Bits;
                node.Offset += total / 8;
                node.BitOffset = (byte)(total % 8);
                node.Bits = (short)bits;
                return node;
            }

            node.Bits = (short)bits;
            node.Kind = t.IsBool ? PlanKind.Bool : t.IsChar ? PlanKind.Char : t.IsSigned ? PlanKind.Signed : PlanKind.Unsigned;
            return node;
        }

        private PlanNode Array(PlanNode node, BtfType t, int depth)
        {
            uint count = t.ArrayLength;
            long stride = spec.SizeOf(t.ArrayElementType);
            if (count > int.MaxValue || stride * count > int.MaxValue)
            {
                throw BtfException.AtType(t.Id, $"array of {count} x {stride} bytes is too large to print");
            }

            node.Count = (int)count;
            node.Stride = (int)stride;
            node.Size = (int)(stride * count);
            node.Kind = count > 0 && IsCharElement(t.ArrayElementType) ? PlanKind.CharArray : PlanKind.Array;
            node.First = Add(Node(t.ArrayElementType, 0, 0, -1, depth + 1));
            return node;
        }

        // bpftool looks through const/volatile/restrict/type tags but not typedefs, and wants a
        // one-byte int that is char-encoded or named "char".
        private bool IsCharElement(uint id)
        {
            BtfType e = spec.TypeById(id);
            for (int hops = 0; e.Kind is BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag; hops++)
            {
                if (hops > MaxDepth)
                {
                    return false;
                }

                e = spec.TypeById(e.Type);
            }

            return e.Kind == BtfKind.Int && e.Size == 1 && (e.IsChar || spec.GetStringBytes(e.NameOffset).SequenceEqual("char"u8));
        }

        private PlanNode Composite(PlanNode node, BtfType t, int depth)
        {
            node.Kind = PlanKind.Struct;
            node.Size = (int)t.Size;
            node.Count = t.Vlen;
            node.First = Nodes.Count;
            for (int i = 0; i < t.Vlen; i++)
            {
                Add(default);
            }

            for (int i = 0; i < t.Vlen; i++)
            {
                BtfMember m = t.Member(i);
                int name = NameIndex(m.Name);
                int byteOffset = (int)(m.BitOffset / 8);
                PlanNode child;
                if (m.BitfieldSize != 0)
                {
                    child = new PlanNode { Kind = PlanKind.Bits, Offset = byteOffset, BitOffset = (byte)(m.BitOffset % 8), Bits = (short)m.BitfieldSize, Name = name, TypeId = m.TypeId };
                }
                else
                {
                    child = Node(m.TypeId, byteOffset, (int)(m.BitOffset % 8), name, depth + 1);
                }

                Nodes[node.First + i] = child;
            }

            return node;
        }

        private PlanNode DataSection(PlanNode node, BtfType t, int depth)
        {
            node.Kind = PlanKind.DataSection;
            node.Name = NameIndex(t.Name);
            node.Size = (int)t.Size;
            node.Count = t.Vlen;
            node.First = Nodes.Count;
            for (int i = 0; i < t.Vlen; i++)
            {
                Add(default);
            }

            for (int i = 0; i < t.Vlen; i++)
            {
                BtfSectionVariable v = t.SectionVariable(i);
                Nodes[node.First + i] = Node(v.TypeId, (int)v.Offset, 0, -1, depth + 1);
            }

            return node;
        }

        private PlanNode Marker(PlanNode node, string text)
        {
            node.Kind = PlanKind.Marker;
            int index = Markers.IndexOf(text);
            if (index < 0)
            {
                Markers.Add(text);
                index = Markers.Count - 1;
            }

            node.Table = index;
            return node;
        }

        private int NameIndex(string name)
        {
            if (!_nameIndex.TryGetValue(name, out int index))
            {
                Names.Add(new BtfName(name));
                index = Names.Count - 1;
                _nameIndex[name] = index;
            }

            return index;
        }

        private int EnumTableOf(BtfType t)
        {
            if (_enumIndex.TryGetValue(t.Id, out int index))
            {
                return index;
            }

            long[] values = new long[t.Vlen];
            var names = new BtfName[t.Vlen];
            for (int i = 0; i < t.Vlen; i++)
            {
                BtfEnumValue e = t.EnumValue(i);
                // A 32-bit enumerator is an s32 to bpftool whatever the enum's signedness.
                values[i] = t.Kind == BtfKind.Enum ? (int)(uint)e.Value : (long)e.Value;
                names[i] = new BtfName(e.Name);
            }

            Enums.Add(new EnumTable(t.Kind == BtfKind.Enum64, values, names));
            index = Enums.Count - 1;
            _enumIndex[t.Id] = index;
            return index;
        }
    }
}
