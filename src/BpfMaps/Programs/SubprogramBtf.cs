using BpfMaps.Btf;

namespace BpfMaps.Programs;

/// <summary>
/// The BTF func_info a program with subprograms is loaded with: the verifier refuses a callback (an
/// <c>ld_imm64</c> of BPF_PSEUDO_FUNC) without it ("missing btf func_info"). Every function is described the same
/// way, static and returning int: static functions are verified in their caller's context, so the verifier reads
/// no argument types from their prototypes.
/// </summary>
internal static class SubprogramBtf
{
    /// <summary>Bytes of one <c>struct bpf_func_info</c> record: insn_off, type_id.</summary>
    public const uint RecordSize = 8;

    /// <summary>Loads the BTF (BPF_BTF_LOAD) and gives the func_info records: slot 0 and each subprogram's first slot.</summary>
    /// <param name="slotCount">The program's slots.</param>
    /// <param name="subprograms">Subprogram start slots, ascending, all above 0.</param>
    /// <param name="funcInfo">(insn_off, type_id) pairs.</param>
    /// <returns>The loaded BTF; dispose it after the program is loaded.</returns>
    public static BtfObject Create(int slotCount, IReadOnlyList<int> subprograms, out uint[] funcInfo)
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, isSigned: true);
        uint proto = b.AddFunctionProto(i32);
        funcInfo = new uint[(subprograms.Count + 1) * 2];
        funcInfo[1] = b.AddFunction("prog", proto, linkage: 0);
        for (int i = 0; i < subprograms.Count; i++)
        {
            int slot = subprograms[i];
            if (slot <= 0 || slot >= slotCount || (i > 0 && slot <= subprograms[i - 1]))
            {
                throw new ArgumentException($"subprogram slot {slot} is not inside the program's {slotCount} slots in ascending order", nameof(subprograms));
            }

            funcInfo[2 * (i + 1)] = (uint)slot;
            funcInfo[(2 * (i + 1)) + 1] = b.AddFunction($"sub_{slot}", proto, linkage: 0);
        }

        return BtfObject.Load(b.Build());
    }
}
