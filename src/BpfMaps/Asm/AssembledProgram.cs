using System.Collections.ObjectModel;

namespace BpfMaps.Asm;

/// <summary>
/// The output of <see cref="InstructionBuilder.Build"/>: instruction slots with every jump resolved,
/// and the map references whose descriptors are filled in when the program is loaded.
/// </summary>
public sealed class AssembledProgram
{
    private readonly Instruction[] _instructions;

    internal AssembledProgram(Instruction[] instructions, MapReference[] maps, int[]? subprograms = null)
    {
        _instructions = instructions;
        MapReferences = new ReadOnlyCollection<MapReference>(maps);
        SubprogramSlots = new ReadOnlyCollection<int>(subprograms ?? []);
    }

    /// <summary>
    /// The slots where subprograms start (targets of BPF-to-BPF calls and callback loads), ascending; empty for a
    /// program without any. The loader describes the main program and each of these in BTF func_info, which the
    /// verifier requires of programs with callbacks.
    /// </summary>
    public IReadOnlyList<int> SubprogramSlots { get; }

    /// <summary>The instruction slots (an <c>ld_imm64</c> occupies two).</summary>
    public ReadOnlySpan<Instruction> Instructions => _instructions;

    /// <summary>Number of slots, as BPF_PROG_LOAD counts them (<c>insn_cnt</c>).</summary>
    public int Count => _instructions.Length;

    /// <summary>Maps referenced by <c>ld_imm64</c> slots; their immediates are 0 until load.</summary>
    public IReadOnlyList<MapReference> MapReferences { get; }

    /// <summary>The kernel encoding of all slots, 8 bytes each (map descriptors left as 0).</summary>
    /// <returns>The bytes.</returns>
    public byte[] ToBytes()
    {
        byte[] bytes = new byte[_instructions.Length * Instruction.Size];
        for (int i = 0; i < _instructions.Length; i++)
        {
            _instructions[i].WriteTo(bytes.AsSpan(i * Instruction.Size));
        }

        return bytes;
    }
}
