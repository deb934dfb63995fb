using System.Diagnostics;
using BpfMaps.Asm;

namespace BpfMaps.Programs.Tests;

public class InstructionEncodingTests
{
    private static string Hex(AssembledProgram p) => Convert.ToHexString(p.ToBytes()).ToLowerInvariant();

    private static string One(Action<InstructionBuilder> emit)
    {
        var b = new InstructionBuilder();
        emit(b);
        return Hex(b.Build());
    }

    // Expected bytes assembled by hand from the instruction format: opcode, dst|src<<4, off (le16), imm (le32).
    [Theory]
    [InlineData("mov64_imm", "b701000005000000")]
    [InlineData("mov64_reg", "bfa2000000000000")]
    [InlineData("mov32_reg", "bc10000000000000")]
    [InlineData("alu32_add_imm", "0400000040000000")]
    [InlineData("alu32_mod_imm", "9400000040000000")]
    [InlineData("alu64_add_neg", "07020000f8ffffff")]
    [InlineData("alu64_sub_reg", "1f21000000000000")]
    [InlineData("alu64_lsh", "6703000020000000")]
    [InlineData("alu64_arsh", "c703000001000000")]
    [InlineData("alu64_neg", "8703000000000000")]
    [InlineData("ldx_w", "6111040000000000")]
    [InlineData("ldx_dw", "79a0f8ff00000000")]
    [InlineData("ldx_b", "7143010000000000")]
    [InlineData("ldx_h", "6943020000000000")]
    [InlineData("stx_w", "630afcff00000000")]
    [InlineData("stx_h", "6b21060000000000")]
    [InlineData("stx_b", "7321070000000000")]
    [InlineData("stx_dw", "7b21080000000000")]
    [InlineData("st_dw", "7a0af0ff01000000")]
    [InlineData("st_b", "720102007f000000")]
    [InlineData("st_w", "620af8ff00000000")]
    [InlineData("atomic_add_dw", "db10000000000000")]
    [InlineData("atomic_add_w", "c321000000000000")]
    [InlineData("atomic_fetch_add_dw", "db31100001000000")]
    [InlineData("ld_imm64", "18020000887766550000000044332211")]
    [InlineData("ld_map_fd", "18110000070000000000000000000000")]
    [InlineData("call_lookup", "8500000001000000")]
    [InlineData("call_update", "8500000002000000")]
    [InlineData("call_delete", "8500000003000000")]
    [InlineData("call_ktime", "8500000005000000")]
    [InlineData("call_prandom", "8500000007000000")]
    [InlineData("call_cpu", "8500000008000000")]
    [InlineData("call_perf_event_output", "8500000019000000")]
    [InlineData("call_ringbuf_output", "8500000082000000")]
    [InlineData("call_ringbuf_reserve", "8500000083000000")]
    [InlineData("call_ringbuf_submit", "8500000084000000")]
    [InlineData("call_ringbuf_discard", "8500000085000000")]
    [InlineData("call_ringbuf_query", "8500000086000000")]
    [InlineData("call_dynptr_read", "85000000c9000000")]
    [InlineData("call_user_ringbuf_drain", "85000000d1000000")]
    [InlineData("exit", "9500000000000000")]
    public void Encodes_each_instruction_byte_exactly(string name, string expected)
    {
        Action<InstructionBuilder> emit = name switch
        {
            "mov64_imm" => b => b.Mov64(Register.R1, 5),
            "mov64_reg" => b => b.Mov64(Register.R2, Register.R10),
            "mov32_reg" => b => b.Mov32(Register.R0, Register.R1),
            "alu32_add_imm" => b => b.Alu32(AluOp.Add, Register.R0, 64),
            "alu32_mod_imm" => b => b.Alu32(AluOp.Mod, Register.R0, 64),
            "alu64_add_neg" => b => b.Alu64(AluOp.Add, Register.R2, -8),
            "alu64_sub_reg" => b => b.Alu64(AluOp.Sub, Register.R1, Register.R2),
            "alu64_lsh" => b => b.Alu64(AluOp.Lsh, Register.R3, 32),
            "alu64_arsh" => b => b.Alu64(AluOp.Arsh, Register.R3, 1),
            "alu64_neg" => b => b.Alu64(AluOp.Neg, Register.R3, 0),
            "ldx_w" => b => b.Load(MemorySize.Word, Register.R1, Register.R1, 4),
            "ldx_dw" => b => b.Load(MemorySize.DoubleWord, Register.R0, Register.R10, -8),
            "ldx_b" => b => b.Load(MemorySize.Byte, Register.R3, Register.R4, 1),
            "ldx_h" => b => b.Load(MemorySize.Half, Register.R3, Register.R4, 2),
            "stx_w" => b => b.Store(MemorySize.Word, Register.R10, -4, Register.R0),
            "stx_h" => b => b.Store(MemorySize.Half, Register.R1, 6, Register.R2),
            "stx_b" => b => b.Store(MemorySize.Byte, Register.R1, 7, Register.R2),
            "stx_dw" => b => b.Store(MemorySize.DoubleWord, Register.R1, 8, Register.R2),
            "st_dw" => b => b.StoreImmediate(MemorySize.DoubleWord, Register.R10, -16, 1),
            "st_b" => b => b.StoreImmediate(MemorySize.Byte, Register.R1, 2, 0x7f),
            "st_w" => b => b.StoreImmediate(MemorySize.Word, Register.R10, -8, 0),
            "atomic_add_dw" => b => b.AtomicAdd(MemorySize.DoubleWord, Register.R0, 0, Register.R1),
            "atomic_add_w" => b => b.AtomicAdd(MemorySize.Word, Register.R1, 0, Register.R2),
            "atomic_fetch_add_dw" => b => b.Atomic(AtomicOp.Add, MemorySize.DoubleWord, Register.R1, 16, Register.R3, fetch: true),
            "ld_imm64" => b => b.LoadImm64(Register.R2, 0x1122334455667788),
            "ld_map_fd" => b => b.LoadMapFd(Register.R1, 7),
            "call_lookup" => b => b.Call(HelperFunction.MapLookupElem),
            "call_update" => b => b.Call(HelperFunction.MapUpdateElem),
            "call_delete" => b => b.Call(HelperFunction.MapDeleteElem),
            "call_ktime" => b => b.Call(HelperFunction.KtimeGetNs),
            "call_prandom" => b => b.Call(HelperFunction.GetPrandomU32),
            "call_cpu" => b => b.Call(HelperFunction.GetSmpProcessorId),
            "call_perf_event_output" => b => b.Call(HelperFunction.PerfEventOutput),
            "call_ringbuf_output" => b => b.Call(HelperFunction.RingbufOutput),
            "call_ringbuf_reserve" => b => b.Call(HelperFunction.RingbufReserve),
            "call_ringbuf_submit" => b => b.Call(HelperFunction.RingbufSubmit),
            "call_ringbuf_discard" => b => b.Call(HelperFunction.RingbufDiscard),
            "call_ringbuf_query" => b => b.Call(HelperFunction.RingbufQuery),
            "call_dynptr_read" => b => b.Call(HelperFunction.DynptrRead),
            "call_user_ringbuf_drain" => b => b.Call(HelperFunction.UserRingbufDrain),
            "exit" => b => b.Exit(),
            _ => throw new ArgumentException(name),
        };
        Assert.Equal(expected, One(emit));
    }

    [Fact]
    public void Resolves_forward_and_backward_jumps_in_slots()
    {
        var b = new InstructionBuilder();
        Label top = b.DefineLabel(), end = b.DefineLabel();
        b.Mark(top)
            .JumpIf(JumpOp.Equal, Register.R0, 0, end)            // 0: +4 (ld_imm64 counts two slots)
            .JumpIf(JumpOp.Greater, Register.R4, Register.R3, top) // 1: -2
            .LoadImm64(Register.R1, 0)                              // 2-3
            .Jump(end)                                              // 4: +0
            .Mark(end).Exit();                                      // 5
        string hex = Hex(b.Build());
        Assert.Equal(
            "1500040000000000" + "2d34feff00000000" + "1801000000000000" + "0000000000000000" + "0500000000000000" + "9500000000000000",
            hex);
    }

    [Fact]
    public void Subprogram_calls_and_callback_loads_count_slots_from_the_next_instruction()
    {
        var b = new InstructionBuilder();
        Label sub = b.DefineLabel(), cb = b.DefineLabel();
        b.Call(sub)                          // 0: target 4, imm 3
            .LoadFunction(Register.R2, cb)   // 1-2: target 6, imm 4
            .Exit()                          // 3
            .Mark(sub).Mov64(Register.R0, 0) // 4
            .Exit()                          // 5
            .Mark(cb).Mov64(Register.R0, 1)  // 6
            .Exit();                         // 7
        AssembledProgram p = b.Build();
        Assert.Equal(
            "8510000003000000" + "1842000004000000" + "0000000000000000" + "9500000000000000"
            + "b700000000000000" + "9500000000000000" + "b700000001000000" + "9500000000000000",
            Hex(p));
        Assert.Equal([4, 6], p.SubprogramSlots);
    }

    [Fact]
    public void A_call_to_a_label_never_placed_is_an_error()
    {
        var b = new InstructionBuilder();
        Label nowhere = b.DefineLabel();
        b.Call(nowhere).Exit();
        Assert.Contains("never placed", Assert.Throws<InvalidOperationException>(() => b.Build()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jmp32_encodes_class_six()
    {
        var b = new InstructionBuilder();
        Label l = b.DefineLabel();
        b.JumpIf32(JumpOp.NotEqual, Register.R1, 5, l).Mark(l).Exit();
        Assert.StartsWith("5601000005000000", Hex(b.Build()));
    }

    [Fact]
    public void Map_reference_records_the_slot_and_leaves_the_immediate_zero()
    {
        var b = new InstructionBuilder();
        b.Mov64(Register.R0, 0);
        // A map object is not needed to check the slot bookkeeping: the raw form has no reference.
        b.LoadMapFd(Register.R2, 3).Exit();
        AssembledProgram p = b.Build();
        Assert.Empty(p.MapReferences);
        Assert.Equal(4, p.Count);
        Assert.True(p.Instructions[1].IsLoadImm64);
        Assert.Equal(1, p.Instructions[1].Src);
        Assert.Equal(3, p.Instructions[1].Immediate);
    }

    [Fact]
    public void Unplaced_label_foreign_label_and_double_mark_are_errors()
    {
        var b = new InstructionBuilder();
        Label never = b.DefineLabel();
        b.Jump(never).Exit();
        var e = Assert.Throws<InvalidOperationException>(() => b.Build());
        Assert.Contains("never placed", e.Message, StringComparison.Ordinal);

        var other = new InstructionBuilder();
        Label foreign = other.DefineLabel();
        Assert.Throws<ArgumentException>(() => b.Jump(foreign));

        Label twice = b.DefineLabel();
        b.Mark(twice);
        Assert.Throws<InvalidOperationException>(() => b.Mark(twice));
    }

    [Fact]
    public void Atomic_rejects_byte_and_half_sizes()
    {
        var b = new InstructionBuilder();
        Assert.Throws<ArgumentException>(() => b.AtomicAdd(MemorySize.Byte, Register.R0, 0, Register.R1));
        Assert.Throws<ArgumentException>(() => b.AtomicAdd(MemorySize.Half, Register.R0, 0, Register.R1));
    }

    [Fact]
    public void Rejects_register_numbers_beyond_r10()
    {
        var b = new InstructionBuilder();
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Mov64((Register)11, 0));
    }

    [Fact]
    public void Instruction_struct_is_eight_bytes()
        => Assert.Equal(8, System.Runtime.CompilerServices.Unsafe.SizeOf<Instruction>());

    /// <summary>
    /// Cross-check against LLVM's BPF assembler: the same sequence written as assembly text and
    /// assembled by clang must give the builder's bytes.
    /// </summary>
    [Fact]
    public void Matches_clang_bpf_assembler()
    {
        string? clang = Which("clang-14") ?? Which("clang");
        string? objcopy = Which("llvm-objcopy-14") ?? Which("llvm-objcopy");
        if (clang is null || objcopy is null)
        {
            Assert.Skip("clang-14 and llvm-objcopy are not installed (apt-get install clang-14 llvm-14); the hand-assembled encodings still ran");
        }

        const string asm = """
            	.text
            	r1 = 5
            	w0 += 64
            	w0 = w1
            	r2 += -8
            	r1 -= r2
            	r3 <<= 32
            	r3 s>>= 1
            	r2 = r10
            	r1 = 0 ll
            	r2 = 1234605616436508552 ll
            	r1 = *(u32 *)(r1 + 4)
            	r0 = *(u64 *)(r10 - 8)
            	r3 = *(u8 *)(r4 + 1)
            	r3 = *(u16 *)(r4 + 2)
            	*(u32 *)(r10 - 4) = w0
            	*(u16 *)(r1 + 6) = w2
            	*(u8 *)(r1 + 7) = w2
            	*(u64 *)(r1 + 8) = r2
            	lock *(u64 *)(r0 + 0) += r1
            	lock *(u32 *)(r1 + 0) += w2
            	call 1
            	call 2
            	call 3
            	call 5
            	call 7
            	call 8
            	call 25
            	call 130
            	call 131
            	call 132
            	call 133
            	call 134
            	call 201
            	call 209
            	call sub1
            LBB0_1:
            	if r0 == 0 goto LBB0_2
            	if r4 > r3 goto LBB0_1
            	if w1 != 5 goto LBB0_2
            	if r1 s< -3 goto LBB0_1
            	if r2 >= r5 goto LBB0_2
            	goto LBB0_2
            	r0 = 7
            LBB0_2:
            	exit
            sub1:
            	r2 = sub1 ll
            	r0 = 0
            	exit

            """;

        var b = new InstructionBuilder();
        Label l1 = b.DefineLabel(), l2 = b.DefineLabel(), sub1 = b.DefineLabel();
        b.Mov64(Register.R1, 5)
            .Alu32(AluOp.Add, Register.R0, 64)
            .Mov32(Register.R0, Register.R1)
            .Alu64(AluOp.Add, Register.R2, -8)
            .Alu64(AluOp.Sub, Register.R1, Register.R2)
            .Alu64(AluOp.Lsh, Register.R3, 32)
            .Alu64(AluOp.Arsh, Register.R3, 1)
            .Mov64(Register.R2, Register.R10)
            .LoadImm64(Register.R1, 0)
            .LoadImm64(Register.R2, 1234605616436508552)
            .Load(MemorySize.Word, Register.R1, Register.R1, 4)
            .Load(MemorySize.DoubleWord, Register.R0, Register.R10, -8)
            .Load(MemorySize.Byte, Register.R3, Register.R4, 1)
            .Load(MemorySize.Half, Register.R3, Register.R4, 2)
            .Store(MemorySize.Word, Register.R10, -4, Register.R0)
            .Store(MemorySize.Half, Register.R1, 6, Register.R2)
            .Store(MemorySize.Byte, Register.R1, 7, Register.R2)
            .Store(MemorySize.DoubleWord, Register.R1, 8, Register.R2)
            .AtomicAdd(MemorySize.DoubleWord, Register.R0, 0, Register.R1)
            .AtomicAdd(MemorySize.Word, Register.R1, 0, Register.R2)
            .Call(HelperFunction.MapLookupElem)
            .Call(HelperFunction.MapUpdateElem)
            .Call(HelperFunction.MapDeleteElem)
            .Call(HelperFunction.KtimeGetNs)
            .Call(HelperFunction.GetPrandomU32)
            .Call(HelperFunction.GetSmpProcessorId)
            .Call(HelperFunction.PerfEventOutput)
            .Call(HelperFunction.RingbufOutput)
            .Call(HelperFunction.RingbufReserve)
            .Call(HelperFunction.RingbufSubmit)
            .Call(HelperFunction.RingbufDiscard)
            .Call(HelperFunction.RingbufQuery)
            .Call(HelperFunction.DynptrRead)
            .Call(HelperFunction.UserRingbufDrain)
            .Call(sub1)
            .Mark(l1)
            .JumpIf(JumpOp.Equal, Register.R0, 0, l2)
            .JumpIf(JumpOp.Greater, Register.R4, Register.R3, l1)
            .JumpIf32(JumpOp.NotEqual, Register.R1, 5, l2)
            .JumpIf(JumpOp.SignedLess, Register.R1, -3, l1)
            .JumpIf(JumpOp.GreaterOrEqual, Register.R2, Register.R5, l2)
            .Jump(l2)
            .Mov64(Register.R0, 7)
            .Mark(l2)
            .Exit()
            .Mark(sub1)
            .LoadFunction(Register.R2, sub1)
            .Mov64(Register.R0, 0)
            .Exit();

        string dir = Directory.CreateTempSubdirectory("bpfasm").FullName;
        try
        {
            string s = Path.Combine(dir, "t.s"), o = Path.Combine(dir, "t.o"), bin = Path.Combine(dir, "t.bin");
            File.WriteAllText(s, asm);
            RunTool(clang, "-target", "bpf", "-mcpu=v3", "-c", s, "-o", o);
            RunTool(objcopy, "-O", "binary", "--only-section=.text", o, bin);
            byte[] clangBytes = File.ReadAllBytes(bin);
            AssembledProgram built = b.Build();

            // clang leaves a function's address to the loader: `r2 = sub1 ll` is src_reg 0 with the byte offset of
            // sub1 and an R_BPF_64_64 relocation, which the loader (libbpf) rewrites to src_reg BPF_PSEUDO_FUNC and
            // the slot distance from the next instruction. Do that rewrite here, then the bytes must be equal.
            int fn = built.SubprogramSlots.Single();
            int load = fn;
            Assert.Equal(0x18, clangBytes[load * 8]);
            int byteOffset = BitConverter.ToInt32(clangBytes, (load * 8) + 4);
            Assert.Equal(fn * 8, byteOffset);
            clangBytes[(load * 8) + 1] = (byte)((clangBytes[(load * 8) + 1] & 0x0f) | (InstructionBuilder.PseudoFunc << 4));
            BitConverter.TryWriteBytes(clangBytes.AsSpan((load * 8) + 4), (byteOffset / 8) - load - 1);
            Assert.Equal(Convert.ToHexString(clangBytes), Convert.ToHexString(built.ToBytes()));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RunTool(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} failed ({p.ExitCode}): {err}");
    }

    private static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}
