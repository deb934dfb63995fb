using System.Runtime.CompilerServices;
using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool's raw BTF as JSON: <c>{"types":[{"id":N,"kind":"...","name":"...",...}]}</c> with bpftool's
/// members in bpftool's order and its <c>-p</c> layout. Where bpftool 7.1 writes invalid or wrong JSON (see
/// <see cref="BpftoolJsonWriter"/>; and an unsigned 32-bit enum value above INT_MAX sign-extended to 64 bits),
/// this writes valid JSON with the right values.
/// </summary>
/// <param name="output">Where to write.</param>
/// <param name="pretty">bpftool's <c>-p</c> layout.</param>
internal sealed class JsonBtfTypeRenderer(Stream output, bool pretty) : IBtfTypeRenderer
{
    private readonly BpftoolJsonWriter _w = new(new Utf8Output(output), pretty);

    /// <inheritdoc />
    public void Begin()
    {
        _w.StartObject();
        _w.Name("types"u8);
        _w.StartArray();
    }

    /// <inheritdoc />
    // Fully optimized from the first call: a dump of vmlinux is over before tiered compilation would promote it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Type(BtfType t)
    {
        BtfSpec spec = t.Spec;
        BpftoolJsonWriter w = _w;
        w.StartObject();
        w.Field("id"u8, t.Id);
        w.Field("kind"u8, BtfRawNames.Kind(t.Kind));
        w.Field("name"u8, BtfRawNames.Name(spec, t.NameOffset));
        switch (t.Kind)
        {
            case BtfKind.Int:
                w.Field("size"u8, t.Size);
                w.Field("bits_offset"u8, (ulong)t.IntBitOffset);
                w.Field("nr_bits"u8, (ulong)t.IntBits);
                w.Field("encoding"u8, BtfRawNames.IntEncoding(t.IntEncoding));
                break;
            case BtfKind.Pointer:
            case BtfKind.Const:
            case BtfKind.Volatile:
            case BtfKind.Restrict:
            case BtfKind.Typedef:
            case BtfKind.TypeTag:
                w.Field("type_id"u8, t.Type);
                break;
            case BtfKind.Array:
                w.Field("type_id"u8, t.ArrayElementType);
                w.Field("index_type_id"u8, t.ArrayIndexType);
                w.Field("nr_elems"u8, t.ArrayLength);
                break;
            case BtfKind.Struct:
            case BtfKind.Union:
                w.Field("size"u8, t.Size);
                w.Field("vlen"u8, (ulong)t.Vlen);
                w.Name("members"u8);
                w.StartArray();
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfMember m = t.Member(i);
                    w.StartObject();
                    w.Field("name"u8, BtfRawNames.Name(spec, m.NameOffset));
                    w.Field("type_id"u8, m.TypeId);
                    w.Field("bits_offset"u8, m.BitOffset);
                    if (m.BitfieldSize != 0)
                    {
                        w.Field("bitfield_size"u8, (ulong)m.BitfieldSize);
                    }

                    w.EndObject();
                }

                w.EndArray();
                break;
            case BtfKind.Enum:
            case BtfKind.Enum64:
                w.Field("encoding"u8, t.KindFlag ? "SIGNED"u8 : "UNSIGNED"u8);
                w.Field("size"u8, t.Size);
                w.Field("vlen"u8, (ulong)t.Vlen);
                w.Name("values"u8);
                w.StartArray();
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfEnumValue e = t.EnumValue(i);
                    w.StartObject();
                    w.Field("name"u8, BtfRawNames.Name(spec, e.NameOffset));
                    if (t.KindFlag)
                    {
                        // EnumValue sign-extends a signed 32-bit value already.
                        w.Field("val"u8, (long)e.Value);
                    }
                    else
                    {
                        // An unsigned 32-bit value stays below 2^32 (bpftool 7.1 sign-extends it).
                        w.Field("val"u8, t.Kind == BtfKind.Enum ? (uint)e.Value : e.Value);
                    }

                    w.EndObject();
                }

                w.EndArray();
                break;
            case BtfKind.Forward:
                w.Field("fwd_kind"u8, t.KindFlag ? "union"u8 : "struct"u8);
                break;
            case BtfKind.Function:
                w.Field("type_id"u8, t.Type);
                w.Field("linkage"u8, BtfRawNames.FunctionLinkage(t.Vlen));
                break;
            case BtfKind.FunctionProto:
                w.Field("ret_type_id"u8, t.Type);
                w.Field("vlen"u8, (ulong)t.Vlen);
                w.Name("params"u8);
                w.StartArray();
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfParameter p = t.Parameter(i);
                    w.StartObject();
                    w.Field("name"u8, BtfRawNames.Name(spec, p.NameOffset));
                    w.Field("type_id"u8, p.TypeId);
                    w.EndObject();
                }

                w.EndArray();
                break;
            case BtfKind.Variable:
                w.Field("type_id"u8, t.Type);
                w.Field("linkage"u8, BtfRawNames.VariableLinkage(t.VariableLinkage));
                break;
            case BtfKind.DataSection:
                w.Field("size"u8, t.Size);
                w.Field("vlen"u8, (ulong)t.Vlen);
                w.Name("vars"u8);
                w.StartArray();
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfSectionVariable v = t.SectionVariable(i);
                    w.StartObject();
                    w.Field("type_id"u8, v.TypeId);
                    w.Field("offset"u8, v.Offset);
                    w.Field("size"u8, v.Size);
                    w.EndObject();
                }

                w.EndArray();
                break;
            case BtfKind.Float:
                w.Field("size"u8, t.Size);
                break;
            case BtfKind.DeclTag:
                w.Field("type_id"u8, t.Type);
                w.Field("component_idx"u8, (long)t.DeclTagComponentIndex);
                break;
        }

        w.EndObject();
    }

    /// <inheritdoc />
    public void End()
    {
        _w.EndArray();
        _w.EndObject();
        _w.Finish();
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
