using System.Buffers.Binary;

namespace BpfMaps.Btf;

public sealed partial class BtfFormatter
{
    // Larger arrays, and arrays of arrays beyond this many ops, are walked rather than unrolled.
    private const int MaxUnrolledOps = 512;

    private JsonProgram? _json;

    /// <summary>
    /// The compact-JSON fast path of <see cref="Write{TSink}"/> for <see cref="BtfJsonSink"/>. Everything in
    /// a value's JSON that does not depend on the bytes (braces, brackets, commas, quoted member names) is
    /// fixed by its type, so it is laid out once, when first needed, as literal runs between the values
    /// that do: integers are read at fixed offsets and written in place. Char arrays (a string or not,
    /// depending on the bytes), enums, bitfields, floats, pointers and large arrays are written by the
    /// walk, as everywhere else. The output is the walk's, byte for byte.
    /// </summary>
    private void WriteCompactJson(ref BtfJsonSink sink, ReadOnlySpan<byte> data)
    {
        JsonProgram program = _json ??= JsonProgram.Compile(this);
        sink.BeginValue();
        foreach (JsonOp op in program.Ops)
        {
            switch (op.Kind)
            {
                case JsonOpKind.Literal:
                    sink.AppendLiteral(program.Literals, op.Start, op.Length);
                    break;
                case JsonOpKind.U8:
                    sink.AppendUnsigned(data[op.Start]);
                    break;
                case JsonOpKind.U16:
                    sink.AppendUnsigned(BinaryPrimitives.ReadUInt16LittleEndian(data[op.Start..]));
                    break;
                case JsonOpKind.U32:
                    sink.AppendUnsigned(BinaryPrimitives.ReadUInt32LittleEndian(data[op.Start..]));
                    break;
                case JsonOpKind.U64:
                    sink.AppendUnsigned(BinaryPrimitives.ReadUInt64LittleEndian(data[op.Start..]));
                    break;
                case JsonOpKind.S8:
                    sink.AppendSigned((sbyte)data[op.Start]);
                    break;
                case JsonOpKind.S16:
                    sink.AppendSigned(BinaryPrimitives.ReadInt16LittleEndian(data[op.Start..]));
                    break;
                case JsonOpKind.S32:
                    sink.AppendSigned(BinaryPrimitives.ReadInt32LittleEndian(data[op.Start..]));
                    break;
                case JsonOpKind.S64:
                    sink.AppendSigned(BinaryPrimitives.ReadInt64LittleEndian(data[op.Start..]));
                    break;
                default:
                    // The literal before it ends in ':', '[' or ',', so the walk writes no comma of its own;
                    // op.Start is where the node starts and op.Length is the node.
                    sink.ResumeAfterLiteral();
                    ref readonly PlanNode n = ref _nodes[op.Length];
                    ReadOnlySpan<byte> d = data[op.Start..];
                    if (!TryWriteLeaf(ref sink, in n, d))
                    {
                        WriteComposite(ref sink, in n, d);
                    }

                    break;
            }
        }

        sink.EndValue();
    }

    private enum JsonOpKind : byte
    {
        Literal,
        U8,
        U16,
        U32,
        U64,
        S8,
        S16,
        S32,
        S64,
        Walk,
    }

    /// <summary>
    /// One step: a literal run (<see cref="Start"/> and <see cref="Length"/> in the literals), an integer
    /// at byte <see cref="Start"/> of the value, or a walk of plan node <see cref="Length"/> at byte <see cref="Start"/>.
    /// </summary>
    private readonly record struct JsonOp(JsonOpKind Kind, int Start, int Length);

    private sealed class JsonProgram(JsonOp[] ops, byte[] literals)
    {
        public JsonOp[] Ops { get; } = ops;

        /// <summary>Every literal run, back to back, padded by 16 bytes for word copies.</summary>
        public byte[] Literals { get; } = literals;

        public static JsonProgram Compile(BtfFormatter f)
        {
            var ops = new List<JsonOp>();
            var literals = new List<byte>();
            Emit(f, f._root, 0, ops, literals);
            literals.AddRange(new byte[16]);
            return new JsonProgram([.. ops], [.. literals]);
        }

        private static void Emit(BtfFormatter f, int index, int at, List<JsonOp> ops, List<byte> literals)
        {
            PlanNode n = f._nodes[index];
            int here = at + n.Offset;
            switch (n.Kind)
            {
                case PlanKind.Unsigned or PlanKind.Signed when n.Bits is 8 or 16 or 32 or 64:
                    bool signed = n.Kind == PlanKind.Signed;
                    JsonOpKind kind = n.Bits switch
                    {
                        8 => signed ? JsonOpKind.S8 : JsonOpKind.U8,
                        16 => signed ? JsonOpKind.S16 : JsonOpKind.U16,
                        32 => signed ? JsonOpKind.S32 : JsonOpKind.U32,
                        _ => signed ? JsonOpKind.S64 : JsonOpKind.U64,
                    };
                    ops.Add(new JsonOp(kind, here, 0));
                    break;
                case PlanKind.Struct:
                    Literal(ops, literals, "{"u8);
                    for (int i = 0; i < n.Count; i++)
                    {
                        int child = n.First + i;
                        if (i > 0)
                        {
                            Literal(ops, literals, ","u8);
                        }

                        Literal(ops, literals, f._names[f._nodes[child].Name].Quoted);
                        Literal(ops, literals, ":"u8);
                        Emit(f, child, here, ops, literals);
                    }

                    Literal(ops, literals, "}"u8);
                    break;
                case PlanKind.Array when (long)n.Count * Cost(f, n.First) <= MaxUnrolledOps:
                    Literal(ops, literals, "["u8);
                    for (int i = 0; i < n.Count; i++)
                    {
                        if (i > 0)
                        {
                            Literal(ops, literals, ","u8);
                        }

                        Emit(f, n.First, here + (i * n.Stride), ops, literals);
                    }

                    Literal(ops, literals, "]"u8);
                    break;
                default:
                    ops.Add(new JsonOp(JsonOpKind.Walk, here, index));
                    break;
            }
        }

        /// <summary>Ops a node unrolls to, roughly: a bound on how far arrays of it unroll.</summary>
        private static int Cost(BtfFormatter f, int index)
        {
            PlanNode n = f._nodes[index];
            return n.Kind switch
            {
                PlanKind.Struct => (int)Math.Min(MaxUnrolledOps + 1, 2 + Enumerable.Range(n.First, n.Count).Sum(c => 2L + Cost(f, c))),
                PlanKind.Array => (int)Math.Min(MaxUnrolledOps + 1, 2 + (n.Count * (1L + Cost(f, n.First)))),
                _ => 1,
            };
        }

        private static void Literal(List<JsonOp> ops, List<byte> literals, ReadOnlySpan<byte> text)
        {
            if (ops.Count > 0 && ops[^1].Kind == JsonOpKind.Literal && ops[^1].Start + ops[^1].Length == literals.Count)
            {
                ops[^1] = ops[^1] with { Length = ops[^1].Length + text.Length };
            }
            else
            {
                ops.Add(new JsonOp(JsonOpKind.Literal, literals.Count, text.Length));
            }

            literals.AddRange(text);
        }
    }
}
