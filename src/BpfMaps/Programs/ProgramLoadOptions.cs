namespace BpfMaps.Programs;

/// <summary>Options of <see cref="BpfProgram.Load(ProgramType, Asm.AssembledProgram, string, ProgramLoadOptions?)"/>.</summary>
public sealed record ProgramLoadOptions
{
    /// <summary>Verifier log bytes to start with when a log is wanted; doubled on ENOSPC up to <see cref="MaxLogSize"/>.</summary>
    public const int DefaultLogSize = 64 * 1024;

    /// <summary>The largest verifier log buffer the loader grows to (16 MiB).</summary>
    public const int MaxLogSize = 16 * 1024 * 1024;

    /// <summary>The shared defaults.</summary>
    public static ProgramLoadOptions Default { get; } = new();

    /// <summary>Program name (<c>prog_name</c>), at most 15 ASCII letters, digits, '_' or '.'; null for none.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Verifier log level to request on the first attempt: 0 (default) loads without a log and, only if
    /// the verifier refuses, loads again with level 1 to capture why. 1 or 2 keep the log on success too.
    /// </summary>
    public int LogLevel { get; init; }

    /// <summary>Initial verifier log buffer size in bytes.</summary>
    public int LogSize { get; init; } = DefaultLogSize;

    /// <summary><c>expected_attach_type</c> (0 for types that need none).</summary>
    public uint ExpectedAttachType { get; init; }
}
