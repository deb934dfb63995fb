namespace BpfMaps.Asm;

/// <summary>Operations of BPF_STX | BPF_ATOMIC, carried in the instruction's immediate.</summary>
public enum AtomicOp
{
    /// <summary>BPF_ADD: *(dst + off) += src. The only atomic before 5.12 (then called XADD).</summary>
    Add = 0x00,
    /// <summary>BPF_OR (5.12).</summary>
    Or = 0x40,
    /// <summary>BPF_AND (5.12).</summary>
    And = 0x50,
    /// <summary>BPF_XOR (5.12).</summary>
    Xor = 0xa0,
}
