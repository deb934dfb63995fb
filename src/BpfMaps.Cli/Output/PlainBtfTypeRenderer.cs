using System.Runtime.CompilerServices;
using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool's raw BTF text: <c>[id] KIND 'name' field=value ...</c>, one line per type, with members,
/// enumerators, parameters and section variables on tab-indented lines of their own. Names are written
/// as the bytes of the string section, unescaped, as bpftool prints them. Lines are built in one
/// reused buffer (<see cref="Utf8Output"/>).
/// </summary>
/// <param name="output">Where to write.</param>
internal sealed class PlainBtfTypeRenderer(Stream output) : IBtfTypeRenderer
{
    private readonly Utf8Output _out = new(output);

    /// <inheritdoc />
    public void Begin()
    {
    }

    /// <inheritdoc />
    // Fully optimized from the first call: a dump of vmlinux is over before tiered compilation would promote it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Type(BtfType t)
    {
        BtfSpec spec = t.Spec;
        Put("["u8);
        Number(t.Id);
        Put("] "u8);
        Put(BtfRawNames.Kind(t.Kind));
        Put(" '"u8);
        Put(BtfRawNames.Name(spec, t.NameOffset));
        Put("'"u8);
        switch (t.Kind)
        {
            case BtfKind.Int:
                Put(" size="u8);
                Number(t.Size);
                Put(" bits_offset="u8);
                Number((uint)t.IntBitOffset);
                Put(" nr_bits="u8);
                Number((uint)t.IntBits);
                Put(" encoding="u8);
                Put(BtfRawNames.IntEncoding(t.IntEncoding));
                break;
            case BtfKind.Pointer:
            case BtfKind.Const:
            case BtfKind.Volatile:
            case BtfKind.Restrict:
            case BtfKind.Typedef:
            case BtfKind.TypeTag:
                Put(" type_id="u8);
                Number(t.Type);
                break;
            case BtfKind.Array:
                Put(" type_id="u8);
                Number(t.ArrayElementType);
                Put(" index_type_id="u8);
                Number(t.ArrayIndexType);
                Put(" nr_elems="u8);
                Number(t.ArrayLength);
                break;
            case BtfKind.Struct:
            case BtfKind.Union:
                SizeAndVlen(t);
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfMember m = t.Member(i);
                    Put("\n\t'"u8);
                    Put(BtfRawNames.Name(spec, m.NameOffset));
                    Put("' type_id="u8);
                    Number(m.TypeId);
                    Put(" bits_offset="u8);
                    Number(m.BitOffset);
                    if (m.BitfieldSize != 0)
                    {
                        Put(" bitfield_size="u8);
                        Number((uint)m.BitfieldSize);
                    }
                }

                break;
            case BtfKind.Enum:
            case BtfKind.Enum64:
                Put(t.KindFlag ? " encoding=SIGNED"u8 : " encoding=UNSIGNED"u8);
                SizeAndVlen(t);
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfEnumValue e = t.EnumValue(i);
                    Put("\n\t'"u8);
                    Put(BtfRawNames.Name(spec, e.NameOffset));
                    Put("' val="u8);
                    if (t.Kind == BtfKind.Enum)
                    {
                        // 32-bit values: %d when signed, %u when not.
                        if (t.KindFlag)
                        {
                            Number((long)(int)e.Value);
                        }
                        else
                        {
                            Number((uint)e.Value);
                        }
                    }
                    else if (t.KindFlag)
                    {
                        Number((long)e.Value);
                        Put("LL"u8);
                    }
                    else
                    {
                        Number(e.Value);
                        Put("ULL"u8);
                    }
                }

                break;
            case BtfKind.Forward:
                Put(t.KindFlag ? " fwd_kind=union"u8 : " fwd_kind=struct"u8);
                break;
            case BtfKind.Function:
                Put(" type_id="u8);
                Number(t.Type);
                Put(" linkage="u8);
                Put(BtfRawNames.FunctionLinkage(t.Vlen));
                break;
            case BtfKind.FunctionProto:
                Put(" ret_type_id="u8);
                Number(t.Type);
                Put(" vlen="u8);
                Number((uint)t.Vlen);
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfParameter p = t.Parameter(i);
                    Put("\n\t'"u8);
                    Put(BtfRawNames.Name(spec, p.NameOffset));
                    Put("' type_id="u8);
                    Number(p.TypeId);
                }

                break;
            case BtfKind.Variable:
                // bpftool's comma.
                Put(" type_id="u8);
                Number(t.Type);
                Put(", linkage="u8);
                Put(BtfRawNames.VariableLinkage(t.VariableLinkage));
                break;
            case BtfKind.DataSection:
                SizeAndVlen(t);
                for (int i = 0; i < t.Vlen; i++)
                {
                    BtfSectionVariable v = t.SectionVariable(i);
                    Put("\n\ttype_id="u8);
                    Number(v.TypeId);
                    Put(" offset="u8);
                    Number(v.Offset);
                    Put(" size="u8);
                    Number(v.Size);
                    BtfType vt = spec.TypeById(v.TypeId);
                    Put(" ("u8);
                    Put(BtfRawNames.Kind(vt.Kind));
                    Put(" '"u8);
                    Put(BtfRawNames.Name(spec, vt.NameOffset));
                    Put("')"u8);
                }

                break;
            case BtfKind.Float:
                Put(" size="u8);
                Number(t.Size);
                break;
            case BtfKind.DeclTag:
                Put(" type_id="u8);
                Number(t.Type);
                Put(" component_idx="u8);
                Number((long)t.DeclTagComponentIndex);
                break;
        }

        Put("\n"u8);
    }

    /// <inheritdoc />
    public void End() => _out.Flush();

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void SizeAndVlen(BtfType t)
    {
        Put(" size="u8);
        Number(t.Size);
        Put(" vlen="u8);
        Number((uint)t.Vlen);
    }

    private void Put(ReadOnlySpan<byte> bytes) => _out.Write(bytes);

    private void Number(ulong value) => _out.Number(value);

    private void Number(long value) => _out.Number(value);

    private void Number(uint value) => _out.Number(value);
}
