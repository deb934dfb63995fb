using BpfMaps.Asm;

namespace BpfMaps.Programs;

/// <summary>
/// Emits "add to the u64 value at a key, inserting the key when it is absent", the sequence the ready-made
/// programs share: look up; if found, add (atomically for shared maps, plainly into this CPU's slot for
/// per-CPU maps); else insert with BPF_NOEXIST; an insert that loses a race (EEXIST) or finds the map full
/// tries again, up to a number of attempts.
/// </summary>
internal static class MapIncrement
{
    private const int BpfNoExist = 1;

    /// <summary>Emits the sequence; it ends at <paramref name="done"/> or, after the last failed attempt, falls through.</summary>
    /// <param name="b">The program being built.</param>
    /// <param name="loadMap">Loads the map into R1 (ld_imm64 of the map, or a register that holds it).</param>
    /// <param name="keySlot">Stack offset (from R10) of the key.</param>
    /// <param name="valueSlot">Stack offset of 8 bytes that already hold the increment, the value an insert writes.</param>
    /// <param name="perCpu">Whether the map is per-CPU.</param>
    /// <param name="attempts">Lookup-or-insert rounds.</param>
    /// <param name="increment">The increment: a register (not R0 to R5, which helper calls clobber), or null for <paramref name="immediate"/>.</param>
    /// <param name="immediate">The increment when <paramref name="increment"/> is null.</param>
    /// <param name="done">Where a successful add or insert jumps.</param>
    public static void Emit(InstructionBuilder b, Action<InstructionBuilder> loadMap, short keySlot, short valueSlot, bool perCpu, int attempts, Register? increment, int immediate, Label done)
    {
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            Label insert = b.DefineLabel();
            loadMap(b);
            b.Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, keySlot)
                .Call(HelperFunction.MapLookupElem)
                .JumpIf(JumpOp.Equal, Register.R0, 0, insert);
            if (perCpu)
            {
                b.Load(MemorySize.DoubleWord, Register.R1, Register.R0, 0);
                _ = increment is { } r ? b.Alu64(AluOp.Add, Register.R1, r) : b.Alu64(AluOp.Add, Register.R1, immediate);
                b.Store(MemorySize.DoubleWord, Register.R0, 0, Register.R1);
            }
            else
            {
                _ = increment is { } r ? b.Mov64(Register.R1, r) : b.Mov64(Register.R1, immediate);
                b.AtomicAdd(MemorySize.DoubleWord, Register.R0, 0, Register.R1);
            }

            b.Jump(done).Mark(insert);
            loadMap(b);
            b.Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, keySlot)
                .Mov64(Register.R3, Register.R10).Alu64(AluOp.Add, Register.R3, valueSlot)
                .Mov64(Register.R4, BpfNoExist)
                .Call(HelperFunction.MapUpdateElem)
                .JumpIf(JumpOp.Equal, Register.R0, 0, done);

            // Any failure (EEXIST from a racing insert, or a full map) falls through to another attempt.
        }
    }
}
