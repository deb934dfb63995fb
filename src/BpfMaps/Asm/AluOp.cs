namespace BpfMaps.Asm;

/// <summary>Arithmetic operations of the ALU and ALU64 classes; values are the opcode's operation bits.</summary>
public enum AluOp : byte
{
    /// <summary>BPF_ADD: dst += src.</summary>
    Add = 0x00,
    /// <summary>BPF_SUB: dst -= src.</summary>
    Sub = 0x10,
    /// <summary>BPF_MUL: dst *= src.</summary>
    Mul = 0x20,
    /// <summary>BPF_DIV: unsigned dst /= src (division by zero yields 0).</summary>
    Div = 0x30,
    /// <summary>BPF_OR: dst |= src.</summary>
    Or = 0x40,
    /// <summary>BPF_AND: dst &amp;= src.</summary>
    And = 0x50,
    /// <summary>BPF_LSH: dst &lt;&lt;= src.</summary>
    Lsh = 0x60,
    /// <summary>BPF_RSH: logical dst &gt;&gt;= src.</summary>
    Rsh = 0x70,
    /// <summary>BPF_NEG: dst = -dst (the source is ignored).</summary>
    Neg = 0x80,
    /// <summary>BPF_MOD: unsigned dst %= src.</summary>
    Mod = 0x90,
    /// <summary>BPF_XOR: dst ^= src.</summary>
    Xor = 0xa0,
    /// <summary>BPF_MOV: dst = src.</summary>
    Mov = 0xb0,
    /// <summary>BPF_ARSH: arithmetic dst &gt;&gt;= src.</summary>
    Arsh = 0xc0,
}
