using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BpfMaps.Asm;

/// <summary>
/// One 8-byte eBPF instruction slot (<c>struct bpf_insn</c>): opcode, destination and source
/// registers (4 bits each, destination in the low nibble on little-endian hosts), a signed
/// 16-bit offset and a signed 32-bit immediate. A 64-bit immediate load takes two slots.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
public readonly record struct Instruction
{
    /// <summary>Creates an instruction from its fields.</summary>
    /// <param name="opcode">The opcode byte (class | size/source | mode/operation).</param>
    /// <param name="dst">Destination register (0–10).</param>
    /// <param name="src">Source register (0–10), or a pseudo value such as 1 for BPF_PSEUDO_MAP_FD.</param>
    /// <param name="offset">The signed offset.</param>
    /// <param name="immediate">The signed immediate.</param>
    /// <exception cref="ArgumentOutOfRangeException">A register number does not fit in 4 bits.</exception>
    public Instruction(byte opcode, byte dst, byte src, short offset, int immediate)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dst, (byte)15);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(src, (byte)15);
        Opcode = opcode;
        Registers = (byte)(dst | (src << 4));
        Offset = offset;
        Immediate = immediate;
    }

    /// <summary>Size of one instruction slot in bytes.</summary>
    public const int Size = 8;

    /// <summary>The opcode byte.</summary>
    public byte Opcode { get; }

    /// <summary>Destination register in the low nibble, source in the high nibble.</summary>
    public byte Registers { get; }

    /// <summary>The signed offset (jump distance in slots, or memory offset in bytes).</summary>
    public short Offset { get; }

    /// <summary>The signed immediate.</summary>
    public int Immediate { get; }

    /// <summary>The destination register number.</summary>
    public byte Dst => (byte)(Registers & 0x0f);

    /// <summary>The source register number.</summary>
    public byte Src => (byte)(Registers >> 4);

    /// <summary>The instruction class (low three opcode bits).</summary>
    public byte Class => (byte)(Opcode & 0x07);

    /// <summary>Whether this is the first slot of a 64-bit immediate load (BPF_LD | BPF_IMM | BPF_DW).</summary>
    public bool IsLoadImm64 => Opcode == 0x18;

    /// <summary>Returns a copy with a different immediate.</summary>
    /// <param name="immediate">The new immediate.</param>
    /// <returns>The new instruction.</returns>
    public Instruction WithImmediate(int immediate) => new(Opcode, Dst, Src, Offset, immediate);

    /// <summary>Returns a copy with a different offset.</summary>
    /// <param name="offset">The new offset.</param>
    /// <returns>The new instruction.</returns>
    public Instruction WithOffset(short offset) => new(Opcode, Dst, Src, offset, Immediate);

    /// <summary>Writes the kernel encoding (8 bytes, little-endian) to <paramref name="destination"/>.</summary>
    /// <param name="destination">At least 8 bytes.</param>
    /// <exception cref="ArgumentException">The destination is shorter than 8 bytes.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"destination is {destination.Length} bytes but an instruction needs {Size}", nameof(destination));
        }

        destination[0] = Opcode;
        destination[1] = Registers;
        BinaryPrimitives.WriteInt16LittleEndian(destination[2..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Immediate);
    }

    /// <inheritdoc />
    public override string ToString() => $"op=0x{Opcode:x2} dst=r{Dst} src=r{Src} off={Offset} imm={Immediate}";
}
