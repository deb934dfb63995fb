namespace BpfMaps.Asm;

/// <summary>
/// The eBPF registers. R0 holds return values, R1–R5 are helper arguments (clobbered by calls),
/// R6–R9 survive calls, R10 is the read-only frame pointer.
/// </summary>
public enum Register : byte
{
    /// <summary>Return value of helpers and of the program.</summary>
    R0 = 0,
    /// <summary>First argument; on entry, the program context.</summary>
    R1 = 1,
    /// <summary>Second argument.</summary>
    R2 = 2,
    /// <summary>Third argument.</summary>
    R3 = 3,
    /// <summary>Fourth argument.</summary>
    R4 = 4,
    /// <summary>Fifth argument.</summary>
    R5 = 5,
    /// <summary>Callee-saved.</summary>
    R6 = 6,
    /// <summary>Callee-saved.</summary>
    R7 = 7,
    /// <summary>Callee-saved.</summary>
    R8 = 8,
    /// <summary>Callee-saved.</summary>
    R9 = 9,
    /// <summary>Frame pointer (read-only); the stack is the 512 bytes below it.</summary>
    R10 = 10,
}
