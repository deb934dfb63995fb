namespace BpfMaps.Asm;

/// <summary>Conditions of the JMP and JMP32 classes; values are the opcode's operation bits.</summary>
public enum JumpOp : byte
{
    /// <summary>BPF_JEQ: dst == src.</summary>
    Equal = 0x10,
    /// <summary>BPF_JGT: unsigned dst &gt; src.</summary>
    Greater = 0x20,
    /// <summary>BPF_JGE: unsigned dst &gt;= src.</summary>
    GreaterOrEqual = 0x30,
    /// <summary>BPF_JSET: (dst &amp; src) != 0.</summary>
    BitsSet = 0x40,
    /// <summary>BPF_JNE: dst != src.</summary>
    NotEqual = 0x50,
    /// <summary>BPF_JSGT: signed dst &gt; src.</summary>
    SignedGreater = 0x60,
    /// <summary>BPF_JSGE: signed dst &gt;= src.</summary>
    SignedGreaterOrEqual = 0x70,
    /// <summary>BPF_JLT: unsigned dst &lt; src.</summary>
    Less = 0xa0,
    /// <summary>BPF_JLE: unsigned dst &lt;= src.</summary>
    LessOrEqual = 0xb0,
    /// <summary>BPF_JSLT: signed dst &lt; src.</summary>
    SignedLess = 0xc0,
    /// <summary>BPF_JSLE: signed dst &lt;= src.</summary>
    SignedLessOrEqual = 0xd0,
}
