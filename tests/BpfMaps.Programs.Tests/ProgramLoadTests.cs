using BpfMaps.Asm;

namespace BpfMaps.Programs.Tests;

public class ProgramLoadTests : KernelTest
{
    private static AssembledProgram ReturnConstant(int value)
    {
        var b = new InstructionBuilder();
        return b.Mov64(Register.R0, value).Exit().Build();
    }

    [Theory]
    [InlineData(ProgramType.Xdp)]
    [InlineData(ProgramType.SchedCls)]
    [InlineData(ProgramType.SocketFilter)]
    public void Loads_and_test_runs_with_retval_and_duration(ProgramType type)
    {
        using BpfProgram p = BpfProgram.Load(type, ReturnConstant(2), "GPL", new ProgramLoadOptions { Name = "ret2" });
        Assert.False(p.Fd.IsInvalid);
        Assert.Equal(2, p.InstructionCount);
        TestRunResult r = p.TestRun(CounterProgram.CreatePacket(), repeat: 1000);
        Assert.Equal(2u, r.ReturnValue);
        Assert.True(r.DurationNs > 0, "the kernel reports a positive average duration");
        Assert.True(r.DurationNs < 1_000_000, $"a two-instruction program took {r.DurationNs} ns per run");
    }

    [Fact]
    public void Test_run_copies_the_packet_out()
    {
        using BpfProgram p = BpfProgram.Load(ProgramType.Xdp, ReturnConstant(2));
        byte[] packet = CounterProgram.CreatePacket(0xdeadbeef);
        byte[] output = new byte[128];
        TestRunResult r = p.TestRun(packet, output, 1);
        Assert.Equal(packet.Length, r.DataSizeOut);
        Assert.Equal(packet, output[..packet.Length]);
    }

    [Fact]
    public void Test_run_with_too_short_a_packet_is_EINVAL()
    {
        using BpfProgram p = BpfProgram.Load(ProgramType.Xdp, ReturnConstant(2));
        var e = Assert.Throws<BpfException>(() => p.TestRun(new byte[4]));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Equal("BPF_PROG_TEST_RUN", e.Command);
    }

    [Fact]
    public void Verifier_rejection_carries_the_log()
    {
        // Reads R2 before anything wrote it: the verifier refuses with "R2 !read_ok".
        var b = new InstructionBuilder();
        AssembledProgram bad = b.Mov64(Register.R0, Register.R2).Exit().Build();
        var e = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(ProgramType.Xdp, bad));
        Assert.Equal(Errno.EACCES, e.Errno);
        Assert.Equal("BPF_PROG_LOAD", e.Command);
        Assert.Contains("R2 !read_ok", e.VerifierLog, StringComparison.Ordinal);
        Assert.Contains("R2 !read_ok", e.Message, StringComparison.Ordinal);
        Assert.False(e.Truncated);
    }

    [Fact]
    public void Missing_exit_is_rejected_with_a_log()
    {
        var b = new InstructionBuilder();
        AssembledProgram bad = b.Mov64(Register.R0, 0).Build();
        var e = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(ProgramType.SocketFilter, bad));
        Assert.NotEmpty(e.VerifierLog);
    }

    [Fact]
    public void Tiny_initial_log_grows_until_the_log_fits()
    {
        var b = new InstructionBuilder();
        for (int i = 0; i < 50; i++)
        {
            b.Mov64(Register.R1, i);
        }

        AssembledProgram bad = b.Mov64(Register.R0, Register.R3).Exit().Build();
        var e = Assert.Throws<BpfVerifierException>(() =>
            BpfProgram.Load(ProgramType.Xdp, bad, "GPL", new ProgramLoadOptions { LogLevel = 2, LogSize = 128 }));
        Assert.Contains("R3 !read_ok", e.VerifierLog, StringComparison.Ordinal);
        Assert.False(e.Truncated);
    }

    [Fact]
    public void Log_on_success_when_asked()
    {
        using BpfProgram p = BpfProgram.Load(ProgramType.Xdp, ReturnConstant(1), "GPL", new ProgramLoadOptions { LogLevel = 2 });
        Assert.NotNull(p.VerifierLog);
        Assert.Contains("processed", p.VerifierLog!, StringComparison.Ordinal);
    }

    [Fact]
    public void Map_reference_is_resolved_at_load()
    {
        using BpfMap map = CreateCounters(MapType.Array, 4);
        var b = new InstructionBuilder();
        Label done = b.DefineLabel();
        // array[1] += 5
        b.StoreImmediate(MemorySize.Word, Register.R10, -4, 1)
            .LoadMap(Register.R1, map)
            .Mov64(Register.R2, Register.R10).Alu64(AluOp.Add, Register.R2, -4)
            .Call(HelperFunction.MapLookupElem)
            .JumpIf(JumpOp.Equal, Register.R0, 0, done)
            .Mov64(Register.R1, 5)
            .AtomicAdd(MemorySize.DoubleWord, Register.R0, 0, Register.R1)
            .Mark(done).Mov64(Register.R0, 2).Exit();
        AssembledProgram program = b.Build();
        Assert.Single(program.MapReferences);
        using BpfProgram p = BpfProgram.Load(ProgramType.Xdp, program);
        p.TestRun(CounterProgram.CreatePacket(), 10);
        Assert.Equal(50ul, ValueOf(map, 1));
    }

    [Fact]
    public void Disposed_map_reference_is_refused()
    {
        BpfMap map = CreateCounters(MapType.Array, 1);
        var b = new InstructionBuilder();
        AssembledProgram program = b.LoadMap(Register.R1, map).Mov64(Register.R0, 0).Exit().Build();
        map.Dispose();
        Assert.Throws<ObjectDisposedException>(() => BpfProgram.Load(ProgramType.Xdp, program));
    }

    [Fact]
    public void Bad_names_and_empty_programs_are_argument_errors()
    {
        Assert.Throws<ArgumentException>(() => BpfProgram.Load(ProgramType.Xdp, ReturnConstant(0), "GPL", new ProgramLoadOptions { Name = "has space" }));
        Assert.Throws<ArgumentException>(() => BpfProgram.Load(ProgramType.Xdp, ReturnConstant(0), "GPL", new ProgramLoadOptions { Name = "sixteen_chars_xx" }));
        Assert.Throws<ArgumentException>(() => BpfProgram.Load(ProgramType.Xdp, ReadOnlySpan<Instruction>.Empty));
        Assert.Throws<ArgumentException>(() => BpfProgram.Load(ProgramType.Xdp, ReturnConstant(0), "G\0PL"));
    }

    [Fact]
    public void Raw_instruction_load_works()
    {
        var b = new InstructionBuilder();
        AssembledProgram program = b.Mov64(Register.R0, 3).Exit().Build();
        using BpfProgram p = BpfProgram.Load(ProgramType.SchedCls, program.Instructions);
        Assert.Equal(3u, p.TestRun(CounterProgram.CreatePacket()).ReturnValue);
    }
}
