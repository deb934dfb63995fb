namespace BpfMaps.Asm;

/// <summary>Access widths of loads, stores and atomics; values are the opcode's size bits.</summary>
public enum MemorySize : byte
{
    /// <summary>BPF_W: 4 bytes.</summary>
    Word = 0x00,
    /// <summary>BPF_H: 2 bytes.</summary>
    Half = 0x08,
    /// <summary>BPF_B: 1 byte.</summary>
    Byte = 0x10,
    /// <summary>BPF_DW: 8 bytes.</summary>
    DoubleWord = 0x18,
}
