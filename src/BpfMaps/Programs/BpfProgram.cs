using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using BpfMaps.Asm;
using BpfMaps.Kernel;

namespace BpfMaps.Programs;

/// <summary>
/// A loaded BPF program (BPF_PROG_LOAD). Owns its descriptor; disposing closes it, and the kernel frees
/// the program once nothing else (an attachment, a pin) holds it.
/// </summary>
public sealed partial class BpfProgram : IDisposable
{
    private BpfProgram(BpfFd fd, ProgramType type, int instructionCount, string? name, string? verifierLog)
    {
        Fd = fd;
        Type = type;
        InstructionCount = instructionCount;
        Name = name;
        VerifierLog = verifierLog;
    }

    /// <summary>The owned descriptor.</summary>
    public BpfFd Fd { get; }

    /// <summary>The program type it was loaded as.</summary>
    public ProgramType Type { get; }

    /// <summary>Instruction slots loaded.</summary>
    public int InstructionCount { get; }

    /// <summary>The name it was loaded with, or null.</summary>
    public string? Name { get; }

    /// <summary>The verifier log of a successful load when <see cref="ProgramLoadOptions.LogLevel"/> asked for one; else null.</summary>
    public string? VerifierLog { get; }

    /// <summary>
    /// Loads an assembled program (BPF_PROG_LOAD, 3.18). Map references are resolved to descriptors
    /// while each map's handle is held. If the kernel refuses, the load is repeated with a level-1
    /// verifier log and the log is thrown with the error.
    /// </summary>
    /// <param name="type">The program type.</param>
    /// <param name="program">From <see cref="InstructionBuilder.Build"/>.</param>
    /// <param name="license">License string; helpers marked GPL-only need a GPL-compatible one.</param>
    /// <param name="options">Name and log options; null for the defaults.</param>
    /// <returns>The loaded program.</returns>
    /// <exception cref="ArgumentException">Empty program, a bad name or license, or a map reference that is not an ld_imm64.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused the program; carries its log.</exception>
    /// <exception cref="BpfException">Other kernel errors (EPERM without CAP_BPF, E2BIG for too many instructions).</exception>
    public static BpfProgram Load(ProgramType type, AssembledProgram program, string license = "GPL", ProgramLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return LoadCore(type, program.Instructions, program.MapReferences, license, options ?? ProgramLoadOptions.Default, program.SubprogramSlots);
    }

    /// <summary>
    /// Loads raw instruction slots (BPF_PROG_LOAD, 3.18). Map descriptors in <c>ld_imm64</c> slots must
    /// stay open until this returns.
    /// </summary>
    /// <param name="type">The program type.</param>
    /// <param name="instructions">The slots.</param>
    /// <param name="license">License string.</param>
    /// <param name="options">Name and log options; null for the defaults.</param>
    /// <returns>The loaded program.</returns>
    /// <exception cref="ArgumentException">Empty program or a bad name or license.</exception>
    /// <exception cref="BpfVerifierException">The verifier refused the program; carries its log.</exception>
    /// <exception cref="BpfException">Other kernel errors.</exception>
    public static BpfProgram Load(ProgramType type, ReadOnlySpan<Instruction> instructions, string license = "GPL", ProgramLoadOptions? options = null)
        => LoadCore(type, instructions, [], license, options ?? ProgramLoadOptions.Default);

    private static BpfProgram LoadCore(ProgramType type, ReadOnlySpan<Instruction> instructions, IReadOnlyList<MapReference> maps, string license, ProgramLoadOptions options,
        IReadOnlyList<int>? subprograms = null)
    {
        ArgumentNullException.ThrowIfNull(license);
        if (instructions.IsEmpty)
        {
            throw new ArgumentException("a program needs at least one instruction", nameof(instructions));
        }

        if (license.Contains('\0', StringComparison.Ordinal) || !Ascii.IsValid(license))
        {
            throw new ArgumentException($"license '{license}' must be ASCII without NUL characters", nameof(license));
        }

        ValidateName(options.Name);
        if (options.LogLevel is < 0 or > 2)
        {
            throw new ArgumentException($"log level {options.LogLevel} is not 0, 1 or 2", nameof(options));
        }

        if (options.LogSize < 128)
        {
            throw new ArgumentException($"log size {options.LogSize} is below the kernel's minimum of 128 bytes", nameof(options));
        }

        Instruction[] slots = instructions.ToArray();
        var held = new SafeHandle[maps.Count];
        int heldCount = 0;
        try
        {
            foreach (MapReference r in maps)
            {
                SafeHandle h = r.Map;
                bool added = false;
                try
                {
                    h.DangerousAddRef(ref added);
                }
                catch (ObjectDisposedException)
                {
                    throw new ObjectDisposedException($"map '{r.Name}' referenced at slot {r.Slot} is disposed");
                }

                held[heldCount++] = h;
                if ((uint)r.Slot >= (uint)slots.Length || !slots[r.Slot].IsLoadImm64)
                {
                    throw new ArgumentException($"map reference at slot {r.Slot} does not point at an ld_imm64", nameof(instructions));
                }

                slots[r.Slot] = slots[r.Slot].WithImmediate((int)h.DangerousGetHandle());
            }

            if (subprograms is not { Count: > 0 })
            {
                return LoadSlots(type, slots, license, options, null, default);
            }

            using var funcs = SubprogramBtf.Create(slots.Length, subprograms, out uint[] funcInfo);
            return LoadSlots(type, slots, license, options, funcs, funcInfo);
        }
        finally
        {
            for (int i = 0; i < heldCount; i++)
            {
                held[i].DangerousRelease();
            }
        }
    }

    private static BpfProgram LoadSlots(ProgramType type, Instruction[] slots, string license, ProgramLoadOptions options, Btf.BtfObject? funcBtf, ReadOnlySpan<uint> funcInfo)
    {
        byte[] lic = BpfMap.NulTerminated(license, nameof(license));
        int logLevel = options.LogLevel;
        int logSize = options.LogSize;
        bool wantLogOnSuccess = logLevel > 0;
        while (true)
        {
            byte[]? log = logLevel > 0 ? ArrayPool<byte>.Shared.Rent(logSize) : null;
            try
            {
                if (log is not null)
                {
                    log[0] = 0;
                }

                int err = BpfSyscall.ProgLoad((uint)type, MemoryMarshal.AsBytes(slots.AsSpan()), lic, options.Name, options.ExpectedAttachType,
                    (uint)logLevel, log is null ? default : log.AsSpan(0, logSize), funcBtf?.Fd, SubprogramBtf.RecordSize, funcInfo, out BpfFd fd);

                if (err == 0)
                {
                    return new BpfProgram(fd, type, slots.Length, options.Name, wantLogOnSuccess ? LogText(log, logSize) : null);
                }

                fd.Dispose();
                if (err == Errno.ENOSPC && log is not null && logSize < ProgramLoadOptions.MaxLogSize)
                {
                    // The log did not fit: the verifier stops (or, since 6.4, keeps only the tail). Grow and retry.
                    logSize = Math.Min(logSize * 2, ProgramLoadOptions.MaxLogSize);
                    continue;
                }

                if (log is not null)
                {
                    string text = LogText(log, logSize);
                    if (text.Length > 0 && err != Errno.EPERM)
                    {
                        throw new BpfVerifierException(err == Errno.ENOSPC ? Errno.EACCES : err, text, truncated: err == Errno.ENOSPC);
                    }

                    throw new BpfException(err, BpfCommand.BPF_PROG_LOAD, ProgLoadHint(err, type));
                }

                if (err is Errno.EACCES or Errno.EINVAL or Errno.E2BIG or Errno.ENOSPC)
                {
                    // Refused: ask again with a log to learn why.
                    logLevel = 1;
                    continue;
                }

                throw new BpfException(err, BpfCommand.BPF_PROG_LOAD, ProgLoadHint(err, type));
            }
            finally
            {
                if (log is not null)
                {
                    ArrayPool<byte>.Shared.Return(log);
                }
            }
        }
    }

    private static string? ProgLoadHint(int err, ProgramType type) => err switch
    {
        Errno.EINVAL => $"invalid program or attributes for {type} (no verifier log was produced)",
        Errno.E2BIG => "too many instructions, or attributes this kernel does not know",
        _ => BpfErrors.DefaultHint(err, BpfCommand.BPF_PROG_LOAD),
    };

    private static string LogText(byte[]? log, int size)
    {
        if (log is null)
        {
            return "";
        }

        var span = log.AsSpan(0, Math.Min(size, log.Length));
        int end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]).TrimEnd();
    }

    private static void ValidateName(string? name)
    {
        if (name is null)
        {
            return;
        }

        if (name.Length > 15)
        {
            throw new ArgumentException($"program name '{name}' is {name.Length} characters; the kernel allows at most 15", nameof(name));
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
            {
                throw new ArgumentException($"program name '{name}' has '{c}'; only ASCII letters, digits, '_' and '.' are allowed", nameof(name));
            }
        }
    }

    /// <summary>
    /// Runs the program <paramref name="repeat"/> times on <paramref name="data"/> in the kernel
    /// (BPF_PROG_TEST_RUN, 4.12 for socket filter, tc and XDP programs) and reports the last return
    /// value and the average duration.
    /// </summary>
    /// <param name="data">Packet bytes (at least 14, an Ethernet header, for packet program types).</param>
    /// <param name="repeat">Runs; the kernel treats 0 as 1.</param>
    /// <returns>The return value and duration.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is negative.</exception>
    /// <exception cref="BpfNotSupportedException">The program type cannot be test-run (ENOTSUPP).</exception>
    /// <exception cref="BpfException">EINVAL (data too short or too long), EINTR (a signal interrupted the runs; how many ran is unknown).</exception>
    public TestRunResult TestRun(ReadOnlySpan<byte> data, int repeat = 1) => TestRun(data, Span<byte>.Empty, repeat);

    /// <summary>Like <see cref="TestRun(ReadOnlySpan{byte}, int)"/>, and copies the resulting packet into <paramref name="dataOut"/>.</summary>
    /// <param name="data">Packet bytes.</param>
    /// <param name="dataOut">Receives the packet after the last run; empty to skip.</param>
    /// <param name="repeat">Runs.</param>
    /// <returns>The return value, duration and output size.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is negative.</exception>
    /// <exception cref="BpfNotSupportedException">The program type cannot be test-run.</exception>
    /// <exception cref="BpfException">ENOSPC when <paramref name="dataOut"/> is too small; EINVAL; EINTR.</exception>
    public TestRunResult TestRun(ReadOnlySpan<byte> data, Span<byte> dataOut, int repeat = 1)
    {
        int err = TestRunOrErrno(data, dataOut, repeat, out TestRunResult result);
        if (err != 0)
        {
            ThrowTestRun(err, dataOut.Length, null);
        }

        return result;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowTestRun(int err, int dataOutLength, int? cpu)
    {
        if (err is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            throw new BpfNotSupportedException($"BPF_PROG_TEST_RUN on {Type}", null, err, BpfCommand.BPF_PROG_TEST_RUN);
        }

        string hint = err switch
        {
            Errno.EINVAL => $"invalid input for {Type}: packet types need at least 14 bytes of data (and at most a page)",
            Errno.EINTR => "interrupted by a signal; the number of runs done is unknown",
            Errno.ENOSPC => $"the output buffer ({dataOutLength} bytes) is smaller than the packet",
            _ => BpfErrors.DefaultHint(err, BpfCommand.BPF_PROG_TEST_RUN) ?? "",
        };
        throw new BpfException(err, BpfCommand.BPF_PROG_TEST_RUN, cpu is { } c ? $"on CPU {c}: {hint}" : hint);
    }

    /// <summary>
    /// The raw test run behind <see cref="TestRun(ReadOnlySpan{byte}, Span{byte}, int)"/>: returns the errno
    /// instead of throwing, for loops that handle EINTR themselves. Allocates nothing.
    /// </summary>
    /// <param name="data">Packet bytes.</param>
    /// <param name="dataOut">Receives the packet after the last run; empty to skip.</param>
    /// <param name="repeat">Runs.</param>
    /// <param name="result">The result when 0 is returned.</param>
    /// <returns>0 or errno.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is negative.</exception>
    public int TestRunOrErrno(ReadOnlySpan<byte> data, Span<byte> dataOut, int repeat, out TestRunResult result)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(repeat);
        int err = BpfSyscall.ProgTestRun(Fd, data, dataOut, (uint)repeat, out TestRunFields r);
        result = err == 0 ? new TestRunResult(r.ReturnValue, r.DurationNs, (int)r.DataSizeOut) : default;
        return err;
    }

    /// <summary>
    /// Runs the program <paramref name="repeat"/> times on CPU <paramref name="cpu"/> (BPF_PROG_TEST_RUN, 4.12): packet
    /// programs run on the calling thread's CPU, so the thread is pinned to <paramref name="cpu"/> for the call
    /// (sched_setaffinity) and its previous CPU mask put back afterwards. For per-CPU maps and ring buffer producers
    /// on each CPU. Allocates nothing.
    /// </summary>
    /// <param name="cpu">The CPU to run on.</param>
    /// <param name="data">Packet bytes.</param>
    /// <param name="repeat">Runs.</param>
    /// <returns>The return value and duration.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is negative, or the thread may not run on <paramref name="cpu"/> (offline, or outside the process's CPU mask).</exception>
    /// <exception cref="BpfNotSupportedException">The program type cannot be test-run.</exception>
    /// <exception cref="BpfException">EINVAL (data too short or too long), EINTR.</exception>
    public TestRunResult TestRunOnCpu(int cpu, ReadOnlySpan<byte> data, int repeat = 1)
    {
        int err = TestRunOnCpuOrErrno(cpu, data, repeat, out TestRunResult result);
        if (err != 0)
        {
            ThrowTestRun(err, 0, cpu);
        }

        return result;
    }

    /// <summary>The raw form of <see cref="TestRunOnCpu"/>: the test run's errno instead of an exception.</summary>
    /// <param name="cpu">The CPU to run on.</param>
    /// <param name="data">Packet bytes.</param>
    /// <param name="repeat">Runs.</param>
    /// <param name="result">The result when 0 is returned.</param>
    /// <returns>0 or the test run's errno.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is negative, or the thread may not run on <paramref name="cpu"/>.</exception>
    public int TestRunOnCpuOrErrno(int cpu, ReadOnlySpan<byte> data, int repeat, out TestRunResult result)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(repeat);
        Span<byte> saved = stackalloc byte[CpuAffinity.MaskBytes];
        int err = CpuAffinity.Get(saved);
        if (err == 0)
        {
            err = CpuAffinity.Pin(cpu);
        }

        if (err != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"this thread cannot be pinned to CPU {cpu} (sched_setaffinity: {Errno.Name(err)}): it is offline, or outside the process's CPU mask");
        }

        try
        {
            return TestRunOrErrno(data, Span<byte>.Empty, repeat, out result);
        }
        finally
        {
            _ = CpuAffinity.Set(saved);
        }
    }

    /// <summary>Closes the program's descriptor.</summary>
    public void Dispose() => Fd.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{Type} program '{Name}' ({InstructionCount} instructions)";
}
