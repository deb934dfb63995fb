using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace BpfMaps.Btf;

public sealed partial class BtfFormatter
{
    // Arrays that would unroll to more steps than this are walked instead.
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
        byte[] literals = program.Literals;
        JsonOp[] ops = program.Ops;
        sink.BeginValue();
        for (int i = 0; i < ops.Length; i++)
        {
            // Each step is a literal run (maybe empty), then at most one value.
            ref readonly JsonOp op = ref ops[i];
            sink.AppendLiteral(literals, op.Literal, op.LiteralLength);
            switch (op.Kind)
            {
                case JsonOpKind.None:
                    break;
                case JsonOpKind.U8:
                    sink.AppendUnsigned(data[op.At]);
                    break;
                case JsonOpKind.U16:
                    sink.AppendUnsigned(BinaryPrimitives.ReadUInt16LittleEndian(data[op.At..]));
                    break;
                case JsonOpKind.U32:
                    sink.AppendUnsigned(BinaryPrimitives.ReadUInt32LittleEndian(data[op.At..]));
                    break;
                case JsonOpKind.U64:
                    sink.AppendUnsigned(BinaryPrimitives.ReadUInt64LittleEndian(data[op.At..]));
                    break;
                case JsonOpKind.S8:
                    sink.AppendSigned((sbyte)data[op.At]);
                    break;
                case JsonOpKind.S16:
                    sink.AppendSigned(BinaryPrimitives.ReadInt16LittleEndian(data[op.At..]));
                    break;
                case JsonOpKind.S32:
                    sink.AppendSigned(BinaryPrimitives.ReadInt32LittleEndian(data[op.At..]));
                    break;
                case JsonOpKind.S64:
                    sink.AppendSigned(BinaryPrimitives.ReadInt64LittleEndian(data[op.At..]));
                    break;
                default:
                    WalkStep(ref sink, op.Node, data[op.At..]);
                    break;
            }
        }

        sink.EndValue();
    }

    /// <summary>A value the program leaves to the walk: plan node <paramref name="node"/>, whose bytes start <paramref name="d"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WalkStep(ref BtfJsonSink sink, int node, ReadOnlySpan<byte> d)
    {
        // The literal before it ends in ':', '[' or ',', so the walk writes no comma of its own.
        sink.ResumeAfterLiteral();
        ref readonly PlanNode n = ref _nodes[node];
        if (!TryWriteLeaf(ref sink, in n, d))
        {
            WriteComposite(ref sink, in n, d);
        }
    }

    private enum JsonOpKind : byte
    {
        None,
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
    /// One step: <see cref="LiteralLength"/> bytes of the literals from <see cref="Literal"/>, then an integer
    /// read at byte <see cref="At"/> of the value, or a walk of plan node <see cref="Node"/> starting at byte
    /// <see cref="At"/>, or nothing (<see cref="JsonOpKind.None"/>: the last step's closing brackets).
    /// </summary>
    private readonly record struct JsonOp(int Literal, int LiteralLength, JsonOpKind Kind, int At, int Node);

    private sealed class JsonProgram(JsonOp[] ops, byte[] literals)
    {
        public JsonOp[] Ops { get; } = ops;

        /// <summary>Every literal run, back to back, padded by 16 bytes for word copies.</summary>
        public byte[] Literals { get; } = literals;

        public static JsonProgram Compile(BtfFormatter f)
        {
            var builder = new Builder(f);
            builder.Emit(f._root, 0);
            return builder.Finish();
        }

        /// <summary>Lays out the steps; literal text waits (from <c>_pending</c>) for the value that follows it.</summary>
        private sealed class Builder(BtfFormatter f)
        {
            private readonly List<JsonOp> _ops = [];
            private readonly List<byte> _literals = [];
            private int _pending = -1;

            public JsonProgram Finish()
            {
                Value(JsonOpKind.None, 0, 0);
                _literals.AddRange(new byte[16]);
                return new JsonProgram([.. _ops], [.. _literals]);
            }

            public void Emit(int index, int at)
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
                        Value(kind, here, 0);
                        break;
                    case PlanKind.Struct:
                        Literal("{"u8);
                        for (int i = 0; i < n.Count; i++)
                        {
                            int child = n.First + i;
                            if (i > 0)
                            {
                                Literal(","u8);
                            }

                            Literal(f._names[f._nodes[child].Name].Quoted);
                            Literal(":"u8);
                            Emit(child, here);
                        }

                        Literal("}"u8);
                        break;
                    case PlanKind.Array when (long)n.Count * Cost(n.First) <= MaxUnrolledOps:
                        Literal("["u8);
                        for (int i = 0; i < n.Count; i++)
                        {
                            if (i > 0)
                            {
                                Literal(","u8);
                            }

                            Emit(n.First, here + (i * n.Stride));
                        }

                        Literal("]"u8);
                        break;
                    default:
                        Value(JsonOpKind.Walk, here, index);
                        break;
                }
            }

            /// <summary>Steps a node unrolls to, roughly: a bound on how far arrays of it unroll.</summary>
            private int Cost(int index)
            {
                PlanNode n = f._nodes[index];
                long cost = n.Kind switch
                {
                    PlanKind.Struct => 2 + Enumerable.Range(n.First, n.Count).Sum(c => 2L + Cost(c)),
                    PlanKind.Array => 2 + (n.Count * (1L + Cost(n.First))),
                    _ => 1,
                };
                return (int)Math.Min(cost, MaxUnrolledOps + 1);
            }

            private void Literal(ReadOnlySpan<byte> text)
            {
                if (_pending < 0)
                {
                    _pending = _literals.Count;
                }

                _literals.AddRange(text);
            }

            private void Value(JsonOpKind kind, int at, int node)
            {
                int start = _pending < 0 ? _literals.Count : _pending;
                _ops.Add(new JsonOp(start, _literals.Count - start, kind, at, node));
                _pending = -1;
            }
        }
    }
}
