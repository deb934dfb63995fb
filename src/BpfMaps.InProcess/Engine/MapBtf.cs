using BpfMaps.Btf;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// The BTF checks BPF_MAP_CREATE makes (map_create and map_check_btf in kernel/bpf/syscall.c, and the
/// map types' map_check_btf), over a <see cref="MapSpec.BtfTypes"/> blob instead of a loaded BTF object.
/// What BPF_BTF_LOAD itself would check of the blob is left to <see cref="BtfSpec.Parse(byte[], BtfSpec?)"/>.
/// </summary>
internal static class MapBtf
{
    /// <summary>Special fields the kernel gives meaning to inside map values; the engine implements none.</summary>
    private static readonly HashSet<string> s_specialStructs = new(StringComparer.Ordinal)
    {
        "bpf_spin_lock", "bpf_res_spin_lock", "bpf_timer", "bpf_wq", "bpf_task_work", "bpf_list_head", "bpf_list_node",
        "bpf_rb_root", "bpf_rb_node", "bpf_refcount",
    };

    private static readonly HashSet<string> s_kptrTags = new(StringComparer.Ordinal) { "kptr", "kptr_untrusted", "percpu_kptr", "uptr" };

    /// <summary>
    /// map_create's first check: a vmlinux value type belongs to struct_ops maps (which the engine lacks), and a
    /// key type needs a value type.
    /// </summary>
    public static int CheckIds(MapSpec spec)
        => spec.BtfVmlinuxValueTypeId != 0 || (spec.BtfKeyTypeId != 0 && spec.BtfValueTypeId == 0) ? Errno.EINVAL : 0;

    /// <summary>The checks after the map is allocated, in the kernel's order; 0 when the map may keep the BTF.</summary>
    /// <exception cref="NotSupportedException">The value holds a field the kernel gives a meaning the engine does not implement (a spin lock, timer, kptr…).</exception>
    public static int Check(MapSpec spec)
    {
        if (spec.BtfKeyTypeId == 0 && spec.BtfValueTypeId == 0)
        {
            return 0; // the kernel does not look at btf_fd
        }

        if (spec.BtfTypes is not { } btf)
        {
            return Errno.EINVAL; // btf_fd 0 is not a BTF object
        }

        if (spec.BtfValueTypeId == 0)
        {
            return 0; // only reached with a key type alone, which CheckIds refused
        }

        BtfType? key = null;
        if (spec.BtfKeyTypeId != 0)
        {
            key = Sized(btf, spec.BtfKeyTypeId, out long keySize);
            if (key is null || keySize != spec.KeySize)
            {
                return Errno.EINVAL;
            }
        }
        else if (!spec.Type.IsArray())
        {
            return Errno.EINVAL; // only the types with their own map_check_btf take a value type alone
        }

        BtfType? value = Sized(btf, spec.BtfValueTypeId, out long valueSize);
        if (value is not { } v || valueSize != spec.ValueSize)
        {
            return Errno.EINVAL;
        }

        if (FindSpecialField(v, 0) is { } special)
        {
            throw new NotSupportedException($"the value type's {special} has a meaning to the kernel that the in-process engine does not implement");
        }

        if (spec.Type.IsMapInMap())
        {
            return Errno.ENOTSUPP; // map_check_no_btf
        }

        if (spec.Type.IsArray())
        {
            // array_map_check_btf: a u32 key, or no key for a global data section (.bss, .data, .rodata).
            if (key is not { } k)
            {
                return spec.Type == MapType.Array && spec.MaxEntries == 1 && v.Kind == BtfKind.DataSection ? 0 : Errno.EINVAL;
            }

            return k.Kind == BtfKind.Int && k.IntBits == 32 && k.IntBitOffset == 0 ? 0 : Errno.EINVAL;
        }

        return 0;
    }

    /// <summary>btf_type_id_size: the type after modifiers, and its size, or null for a type without one.</summary>
    private static BtfType? Sized(BtfSpec btf, uint id, out long size)
    {
        size = 0;
        try
        {
            BtfType t = btf.ResolveModifiers(id);
            if (t.Kind is BtfKind.Void or BtfKind.Forward or BtfKind.Function or BtfKind.FunctionProto or BtfKind.Variable or BtfKind.DeclTag)
            {
                return null;
            }

            if (t.Kind == BtfKind.Int && (t.IntBitOffset != 0 || t.IntBits != t.Size * 8))
            {
                return null; // not a regular int
            }

            size = btf.SizeOf(t.Id);
            return t;
        }
        catch (BtfException)
        {
            return null;
        }
    }

    private static string? FindSpecialField(BtfType t, int depth)
    {
        if (depth > 32)
        {
            return null;
        }

        BtfSpec spec = t.Spec;
        switch (t.Kind)
        {
            case BtfKind.Struct or BtfKind.Union:
                if (s_specialStructs.Contains(t.Name))
                {
                    return $"struct {t.Name}";
                }

                for (int i = 0; i < t.Vlen; i++)
                {
                    if (FindSpecialField(spec.TypeById(t.Member(i).TypeId), depth + 1) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case BtfKind.Array:
                return FindSpecialField(spec.TypeById(t.ArrayElementType), depth + 1);
            case BtfKind.Pointer:
                // A kptr is a pointer whose pointee carries the tag; what a plain pointer points to does not count.
                BtfType pointee = spec.TypeById(t.Type);
                return pointee.Kind == BtfKind.TypeTag && s_kptrTags.Contains(pointee.Name) ? $"__{pointee.Name} pointer" : null;
            case BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag:
                return FindSpecialField(spec.TypeById(t.Type), depth + 1);
            default:
                return null;
        }
    }
}
