namespace BpfMaps.Cli.Errors;

/// <summary>
/// What <c>bpfmap</c> returns to the shell. Every expected failure has its own code so scripts can
/// tell them apart; the README lists them.
/// </summary>
internal enum ExitCode
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>An unexpected failure (a bug); the message names the exception.</summary>
    Failure = 1,

    /// <summary>Command-line syntax: unknown command or option, a missing or extra word, a bad option value, a pin path outside bpffs.</summary>
    Usage = 2,

    /// <summary>A MAP selector that is not <c>id N</c>, <c>pinned PATH</c> or <c>name NAME</c>; a BTF source that is not <c>id N</c>, <c>map MAP</c> or <c>file PATH</c>.</summary>
    BadSelector = 3,

    /// <summary>No map with that id, name or pin path; a pinned path that is a plain file, a directory or not on bpffs.</summary>
    MapNotFound = 4,

    /// <summary>DATA that is not a byte: <c>0x1g</c>, <c>256</c>, <c>hex zz</c>.</summary>
    BadData = 5,

    /// <summary>A key or value with the wrong number of bytes for the map.</summary>
    SizeMismatch = 6,

    /// <summary><c>create ... type T</c> with a type name the kernel does not have.</summary>
    UnknownType = 7,

    /// <summary>lookup/delete of an absent key; getnext after the last key; peek/pop of an empty queue or stack; a value a bloom filter does not hold.</summary>
    KeyNotFound = 8,

    /// <summary>The kernel said EPERM or EACCES: run as root or with CAP_BPF; or the map is frozen (read-only for syscalls).</summary>
    PermissionDenied = 9,

    /// <summary>Any other error the kernel returned (EEXIST, E2BIG, EINVAL, EBUSY, ...).</summary>
    KernelError = 10,

    /// <summary>The map type or kernel lacks the operation.</summary>
    NotSupported = 11,

    /// <summary><c>export</c>: the exporter configuration is invalid (the message names the field).</summary>
    BadConfig = 12,

    /// <summary><c>export</c>: the exporter could not start (e.g. its listen port is taken).</summary>
    ExporterFailed = 13,

    /// <summary>BTF that cannot be read or does not fit: malformed BTF (the message names the offset or type id), a file that is neither raw BTF nor an ELF object with a <c>.BTF</c> section, fields asked of a map without BTF, an unknown field.</summary>
    BadBtf = 14,

    /// <summary>The output could not be written: standard output closed, a full disk, a reader that went away.</summary>
    OutputFailed = 15,

    /// <summary><c>btf</c>: no BTF object with that id, a map without BTF, or no such file.</summary>
    NoBtf = 16,

    /// <summary><c>event_pipe</c>: a ring stopped being readable while it was read (the kernel hung up a perf event, or a ring's records are corrupt).</summary>
    EventsGone = 17,

    /// <summary>Stopped by Ctrl+C.</summary>
    Interrupted = 130,
}
