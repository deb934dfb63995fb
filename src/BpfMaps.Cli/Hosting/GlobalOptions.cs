namespace BpfMaps.Cli.Hosting;

/// <summary>Output formats of <c>--format</c>.</summary>
internal enum OutputFormat
{
    /// <summary>Not chosen: a table on a terminal, bpftool's plain text otherwise; JSON with -j.</summary>
    Auto,

    /// <summary>bpftool's plain text.</summary>
    Plain,

    /// <summary>A Spectre table.</summary>
    Table,

    /// <summary>bpftool's JSON.</summary>
    Json,

    /// <summary>One JSON object per line.</summary>
    Ndjson,

    /// <summary>Comma-separated values with a header.</summary>
    Csv,
}

/// <summary>How <c>--sort</c> orders a dump.</summary>
internal enum SortOrder
{
    /// <summary>Map order (streams).</summary>
    None,

    /// <summary>Ascending key (numeric for 1/2/4/8-byte keys, else bytewise).</summary>
    Key,

    /// <summary>Descending value (numeric, per-CPU values summed).</summary>
    Value,

    /// <summary>By a BTF field, such as <c>value.bytes</c> (descending for value fields, ascending for key fields).</summary>
    Field,
}

/// <summary>The options every command shares, already parsed. Workers get this, never parser types.</summary>
internal sealed record GlobalOptions
{
    /// <summary><c>-j/--json</c>.</summary>
    public bool Json { get; init; }

    /// <summary><c>-p/--pretty</c> (implies JSON).</summary>
    public bool Pretty { get; init; }

    /// <summary><c>-f/--bpffs</c>: show pin paths.</summary>
    public bool Bpffs { get; init; }

    /// <summary><c>--format</c>.</summary>
    public OutputFormat Format { get; init; }

    /// <summary><c>--percpu</c>.</summary>
    public PerCpuMode PerCpu { get; init; }

    /// <summary><c>--sort</c>.</summary>
    public SortOrder Sort { get; init; }

    /// <summary><c>--top N</c>, or 0 for all.</summary>
    public int Top { get; init; }

    /// <summary>The field of <c>--sort FIELD</c>, for <see cref="SortOrder.Field"/>.</summary>
    public string? SortField { get; init; }

    /// <summary>Whether <c>--raw</c> asks for bytes even when the map has BTF.</summary>
    public bool Raw { get; init; }

    /// <summary><c>--key-prefix HEX</c> as bytes, or null.</summary>
    public byte[]? KeyPrefix { get; init; }

    /// <summary>The format to use given where stdout goes.</summary>
    /// <param name="stdoutIsTerminal">Whether stdout is a terminal.</param>
    /// <returns>A concrete format.</returns>
    public OutputFormat Resolve(bool stdoutIsTerminal) => Format switch
    {
        OutputFormat.Auto when Json || Pretty => OutputFormat.Json,
        OutputFormat.Auto => stdoutIsTerminal ? OutputFormat.Table : OutputFormat.Plain,
        _ => Format,
    };
}
