namespace BpfMaps.Asm;

/// <summary>
/// Builds eBPF instruction sequences one typed call at a time, with jumps to labels resolved by
/// <see cref="Build"/>. The builder only encodes; the kernel verifier judges the program when it is
/// loaded (<see cref="Programs.BpfProgram.Load(Programs.ProgramType, AssembledProgram, string, Programs.ProgramLoadOptions?)"/>).
/// </summary>
/// <example>
/// <code>
/// var b = new InstructionBuilder();
/// Label done = b.DefineLabel();
/// b.Mov64(Register.R0, 0).JumpIf(JumpOp.Equal, Register.R1, 0, done).Mov64(Register.R0, 1).Mark(done).Exit();
/// AssembledProgram program = b.Build();
/// </code>
/// </example>
public sealed class InstructionBuilder
{
    private const byte ClassLd = 0x00, ClassLdx = 0x01, ClassSt = 0x02, ClassStx = 0x03, ClassAlu = 0x04,
        ClassJmp = 0x05, ClassJmp32 = 0x06, ClassAlu64 = 0x07;

    private const byte SourceImm = 0x00, SourceReg = 0x08;
    private const byte ModeImm = 0x00, ModeMem = 0x60, ModeAtomic = 0xc0;
    private const byte JumpAlways = 0x00, JumpCall = 0x80, JumpExit = 0x90;

    /// <summary>BPF_PSEUDO_MAP_FD: the src_reg of an <c>ld_imm64</c> whose immediate is a map descriptor.</summary>
    public const byte PseudoMapFd = 1;

    /// <summary>BPF_PSEUDO_CALL: the src_reg of a call whose immediate is the pc-relative slot of a subprogram.</summary>
    public const byte PseudoCall = 1;

    /// <summary>BPF_PSEUDO_FUNC: the src_reg of an <c>ld_imm64</c> whose immediate is the pc-relative slot of a subprogram (a callback).</summary>
    public const byte PseudoFunc = 4;

    /// <summary>BPF_FETCH: the atomic also returns the old value in the source register.</summary>
    private const int AtomicFetch = 0x01;

    private readonly List<Instruction> _slots = [];
    private readonly List<int> _labels = [];
    private readonly List<(int Slot, int Label)> _jumps = [];
    private readonly List<(int Slot, int Label)> _calls = [];
    private readonly List<MapReference> _maps = [];

    /// <summary>Number of slots emitted so far.</summary>
    public int Count => _slots.Count;

    /// <summary>Creates a label to jump to; place it with <see cref="Mark"/>.</summary>
    /// <returns>The label.</returns>
    public Label DefineLabel()
    {
        _labels.Add(-1);
        return new Label(_labels.Count - 1, this);
    }

    /// <summary>Places <paramref name="label"/> at the next instruction to be emitted.</summary>
    /// <param name="label">A label of this builder, not yet placed.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The label belongs to another builder.</exception>
    /// <exception cref="InvalidOperationException">The label was already placed.</exception>
    public InstructionBuilder Mark(Label label)
    {
        CheckLabel(label);
        if (_labels[label.Id] >= 0)
        {
            throw new InvalidOperationException($"label {label.Id} is already placed at slot {_labels[label.Id]}");
        }

        _labels[label.Id] = _slots.Count;
        return this;
    }

    /// <summary>Appends a raw instruction slot.</summary>
    /// <param name="instruction">The slot.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Emit(Instruction instruction)
    {
        _slots.Add(instruction);
        return this;
    }

    /// <summary>64-bit ALU with an immediate: <c>dst = dst op imm</c> (BPF_ALU64 | BPF_K).</summary>
    /// <param name="op">The operation.</param>
    /// <param name="dst">Destination register.</param>
    /// <param name="imm">Immediate, sign-extended to 64 bits.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Alu64(AluOp op, Register dst, int imm) => Add(ClassAlu64 | SourceImm | (int)op, dst, 0, 0, imm);

    /// <summary>64-bit ALU with a register: <c>dst = dst op src</c> (BPF_ALU64 | BPF_X).</summary>
    /// <param name="op">The operation.</param>
    /// <param name="dst">Destination register.</param>
    /// <param name="src">Source register.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Alu64(AluOp op, Register dst, Register src) => Add(ClassAlu64 | SourceReg | (int)op, dst, Reg(src), 0, 0);

    /// <summary>32-bit ALU with an immediate; the upper half of <paramref name="dst"/> is zeroed (BPF_ALU | BPF_K).</summary>
    /// <param name="op">The operation.</param>
    /// <param name="dst">Destination register.</param>
    /// <param name="imm">Immediate.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Alu32(AluOp op, Register dst, int imm) => Add(ClassAlu | SourceImm | (int)op, dst, 0, 0, imm);

    /// <summary>32-bit ALU with a register (BPF_ALU | BPF_X).</summary>
    /// <param name="op">The operation.</param>
    /// <param name="dst">Destination register.</param>
    /// <param name="src">Source register.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Alu32(AluOp op, Register dst, Register src) => Add(ClassAlu | SourceReg | (int)op, dst, Reg(src), 0, 0);

    /// <summary><c>dst = imm</c>, sign-extended to 64 bits.</summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="imm">Immediate.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Mov64(Register dst, int imm) => Alu64(AluOp.Mov, dst, imm);

    /// <summary><c>dst = src</c> (64 bits).</summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="src">Source register.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Mov64(Register dst, Register src) => Alu64(AluOp.Mov, dst, src);

    /// <summary><c>wdst = imm</c>; the upper half is zeroed.</summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="imm">Immediate.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Mov32(Register dst, int imm) => Alu32(AluOp.Mov, dst, imm);

    /// <summary><c>wdst = wsrc</c>; the upper half is zeroed.</summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="src">Source register.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Mov32(Register dst, Register src) => Alu32(AluOp.Mov, dst, src);

    /// <summary><c>dst = value</c>: a 64-bit immediate load, two slots (BPF_LD | BPF_IMM | BPF_DW).</summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="value">The value.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder LoadImm64(Register dst, long value)
    {
        Add(ClassLd | ModeImm | (int)MemorySize.DoubleWord, dst, 0, 0, unchecked((int)value));
        return Emit(new Instruction(0, 0, 0, 0, unchecked((int)(value >> 32))));
    }

    /// <summary>
    /// <c>dst = map</c> by raw descriptor: an <c>ld_imm64</c> with src_reg BPF_PSEUDO_MAP_FD and the
    /// descriptor as immediate. The caller keeps <paramref name="fd"/> open until the program is loaded.
    /// </summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="fd">An open map descriptor.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fd"/> is negative.</exception>
    public InstructionBuilder LoadMapFd(Register dst, int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        Add(ClassLd | ModeImm | (int)MemorySize.DoubleWord, dst, PseudoMapFd, 0, fd);
        return Emit(default);
    }

    /// <summary>
    /// <c>dst = map</c>: like <see cref="LoadMapFd"/>, but the descriptor is filled in at load time
    /// while the map's handle is held, so it cannot be closed or reused in between.
    /// </summary>
    /// <param name="dst">Destination register.</param>
    /// <param name="map">The map's descriptor (a <c>BpfMap</c>'s <c>Handle</c>).</param>
    /// <param name="name">The map's name, for messages; null for none.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder LoadMap(Register dst, System.Runtime.InteropServices.SafeHandle map, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        _maps.Add(new MapReference(_slots.Count, map, name ?? ""));
        Add(ClassLd | ModeImm | (int)MemorySize.DoubleWord, dst, PseudoMapFd, 0, 0);
        return Emit(default);
    }

    /// <summary><c>dst = *(size *)(src + offset)</c> (BPF_LDX | BPF_MEM).</summary>
    /// <param name="size">Access width.</param>
    /// <param name="dst">Destination register.</param>
    /// <param name="src">Base register.</param>
    /// <param name="offset">Byte offset.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Load(MemorySize size, Register dst, Register src, short offset) => Add(ClassLdx | ModeMem | (int)size, dst, Reg(src), offset, 0);

    /// <summary><c>*(size *)(dst + offset) = src</c> (BPF_STX | BPF_MEM).</summary>
    /// <param name="size">Access width.</param>
    /// <param name="dst">Base register.</param>
    /// <param name="offset">Byte offset.</param>
    /// <param name="src">Value register.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Store(MemorySize size, Register dst, short offset, Register src) => Add(ClassStx | ModeMem | (int)size, dst, Reg(src), offset, 0);

    /// <summary><c>*(size *)(dst + offset) = imm</c> (BPF_ST | BPF_MEM); a double word gets the immediate sign-extended.</summary>
    /// <param name="size">Access width.</param>
    /// <param name="dst">Base register.</param>
    /// <param name="offset">Byte offset.</param>
    /// <param name="imm">The value.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder StoreImmediate(MemorySize size, Register dst, short offset, int imm) => Add(ClassSt | ModeMem | (int)size, dst, 0, offset, imm);

    /// <summary>
    /// An atomic read-modify-write of <c>*(size *)(dst + offset)</c> with <paramref name="src"/>
    /// (BPF_STX | BPF_ATOMIC; the operation is in the immediate). Add without fetch is the old
    /// BPF_XADD, accepted by every kernel with eBPF; the others need 5.12.
    /// </summary>
    /// <param name="op">The operation.</param>
    /// <param name="size">Word or double word.</param>
    /// <param name="dst">Base register.</param>
    /// <param name="offset">Byte offset.</param>
    /// <param name="src">Operand register (receives the old value when <paramref name="fetch"/>).</param>
    /// <param name="fetch">Set BPF_FETCH.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">A byte or half-word size.</exception>
    public InstructionBuilder Atomic(AtomicOp op, MemorySize size, Register dst, short offset, Register src, bool fetch = false)
    {
        if (size is not (MemorySize.Word or MemorySize.DoubleWord))
        {
            throw new ArgumentException($"atomic operations take Word or DoubleWord, not {size}", nameof(size));
        }

        return Add(ClassStx | ModeAtomic | (int)size, dst, Reg(src), offset, (int)op | (fetch ? AtomicFetch : 0));
    }

    /// <summary><c>lock *(size *)(dst + offset) += src</c>.</summary>
    /// <param name="size">Word or double word.</param>
    /// <param name="dst">Base register.</param>
    /// <param name="offset">Byte offset.</param>
    /// <param name="src">Addend register.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder AtomicAdd(MemorySize size, Register dst, short offset, Register src) => Atomic(AtomicOp.Add, size, dst, offset, src);

    /// <summary>Calls a kernel helper: arguments in R1–R5, result in R0, R1–R5 clobbered (BPF_JMP | BPF_CALL).</summary>
    /// <param name="helper">The helper.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Call(HelperFunction helper) => Add(ClassJmp | JumpCall, Register.R0, 0, 0, (int)helper);

    /// <summary>
    /// Calls the subprogram at <paramref name="subprogram"/> (a BPF-to-BPF call, Linux 4.16): BPF_JMP | BPF_CALL with
    /// src_reg BPF_PSEUDO_CALL and the immediate the slot distance, resolved at <see cref="Build"/>. Arguments in
    /// R1–R5, result in R0; the subprogram has its own stack frame and ends with <see cref="Exit"/>.
    /// </summary>
    /// <param name="subprogram">A label placed at the subprogram's first instruction, after the main program's exit.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The label belongs to another builder.</exception>
    public InstructionBuilder Call(Label subprogram)
    {
        CheckLabel(subprogram);
        _calls.Add((_slots.Count, subprogram.Id));
        return Add(ClassJmp | JumpCall, Register.R0, PseudoCall, 0, 0);
    }

    /// <summary>
    /// <c>dst = &amp;function</c>: an <c>ld_imm64</c> with src_reg BPF_PSEUDO_FUNC whose immediate is the slot distance to
    /// <paramref name="function"/> (Linux 5.13), for helpers that take a callback such as
    /// <see cref="HelperFunction.UserRingbufDrain"/>. The immediate counts from the slot after the first of the two.
    /// </summary>
    /// <param name="dst">Destination register (R2 for a helper's callback argument).</param>
    /// <param name="function">A label placed at the callback's first instruction.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException">The label belongs to another builder.</exception>
    public InstructionBuilder LoadFunction(Register dst, Label function)
    {
        CheckLabel(function);
        _calls.Add((_slots.Count, function.Id));
        Add(ClassLd | ModeImm | (int)MemorySize.DoubleWord, dst, PseudoFunc, 0, 0);
        return Emit(default);
    }

    /// <summary>Returns R0 to the caller (BPF_JMP | BPF_EXIT).</summary>
    /// <returns>This builder.</returns>
    public InstructionBuilder Exit() => Add(ClassJmp | JumpExit, Register.R0, 0, 0, 0);

    /// <summary>Jumps to <paramref name="target"/> (BPF_JMP | BPF_JA).</summary>
    /// <param name="target">A label of this builder.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder Jump(Label target) => AddJump(ClassJmp | JumpAlways, Register.R0, 0, 0, target);

    /// <summary>Jumps to <paramref name="target"/> when <c>dst op imm</c> holds, comparing 64 bits (BPF_JMP | BPF_K).</summary>
    /// <param name="op">The condition.</param>
    /// <param name="dst">Left operand.</param>
    /// <param name="imm">Right operand, sign-extended.</param>
    /// <param name="target">A label of this builder.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder JumpIf(JumpOp op, Register dst, int imm, Label target) => AddJump(ClassJmp | SourceImm | (int)op, dst, 0, imm, target);

    /// <summary>Jumps to <paramref name="target"/> when <c>dst op src</c> holds, comparing 64 bits (BPF_JMP | BPF_X).</summary>
    /// <param name="op">The condition.</param>
    /// <param name="dst">Left operand.</param>
    /// <param name="src">Right operand.</param>
    /// <param name="target">A label of this builder.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder JumpIf(JumpOp op, Register dst, Register src, Label target) => AddJump(ClassJmp | SourceReg | (int)op, dst, Reg(src), 0, target);

    /// <summary>Like <see cref="JumpIf(JumpOp, Register, int, Label)"/> on the low 32 bits (BPF_JMP32, 5.1).</summary>
    /// <param name="op">The condition.</param>
    /// <param name="dst">Left operand.</param>
    /// <param name="imm">Right operand.</param>
    /// <param name="target">A label of this builder.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder JumpIf32(JumpOp op, Register dst, int imm, Label target) => AddJump(ClassJmp32 | SourceImm | (int)op, dst, 0, imm, target);

    /// <summary>Like <see cref="JumpIf(JumpOp, Register, Register, Label)"/> on the low 32 bits (BPF_JMP32, 5.1).</summary>
    /// <param name="op">The condition.</param>
    /// <param name="dst">Left operand.</param>
    /// <param name="src">Right operand.</param>
    /// <param name="target">A label of this builder.</param>
    /// <returns>This builder.</returns>
    public InstructionBuilder JumpIf32(JumpOp op, Register dst, Register src, Label target) => AddJump(ClassJmp32 | SourceReg | (int)op, dst, Reg(src), 0, target);

    /// <summary>Resolves every jump and returns the program. The builder can go on being used.</summary>
    /// <returns>The assembled program.</returns>
    /// <exception cref="InvalidOperationException">A jump, call or function load targets a label that was never placed, or a jump lies beyond a 16-bit offset.</exception>
    public AssembledProgram Build()
    {
        Instruction[] slots = [.. _slots];
        foreach ((int slot, int label) in _jumps)
        {
            int target = _labels[label];
            if (target < 0)
            {
                throw new InvalidOperationException($"the jump at slot {slot} targets label {label}, which was never placed with Mark");
            }

            int distance = target - slot - 1;
            if (distance is < short.MinValue or > short.MaxValue)
            {
                throw new InvalidOperationException($"the jump at slot {slot} spans {distance} slots; a jump offset holds at most {short.MaxValue}");
            }

            slots[slot] = slots[slot].WithOffset((short)distance);
        }

        foreach ((int slot, int label) in _calls)
        {
            int target = _labels[label];
            if (target < 0)
            {
                throw new InvalidOperationException($"the call or function load at slot {slot} targets label {label}, which was never placed with Mark");
            }

            slots[slot] = slots[slot].WithImmediate(target - slot - 1);
        }

        int[] subprograms = [.. _calls.Select(c => _labels[c.Label]).Where(t => t > 0).Distinct().Order()];
        return new AssembledProgram(slots, [.. _maps], subprograms);
    }

    private InstructionBuilder AddJump(int opcode, Register dst, byte src, int imm, Label target)
    {
        CheckLabel(target);
        _jumps.Add((_slots.Count, target.Id));
        return Add(opcode, dst, src, 0, imm);
    }

    private InstructionBuilder Add(int opcode, Register dst, byte src, short offset, int imm)
        => Emit(new Instruction((byte)opcode, Reg(dst), src, offset, imm));

    private static byte Reg(Register r)
    {
        if ((byte)r > (byte)Register.R10)
        {
            throw new ArgumentOutOfRangeException(nameof(r), r, "eBPF has registers R0 to R10");
        }

        return (byte)r;
    }

    private void CheckLabel(Label label)
    {
        if (!ReferenceEquals(label.Owner, this))
        {
            throw new ArgumentException("the label was not defined by this builder (use DefineLabel)", nameof(label));
        }
    }
}
