using System.Buffers.Binary;
using System.Globalization;
using BpfMaps.Cli.Errors;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Output;

/// <summary>
/// The shape of a map's entries as the renderers need it: sizes, per-CPU stride, whether values are
/// inner map ids, and how per-CPU values are reduced. Renderers only see this and raw bytes, so they
/// can be tested without a kernel.
/// </summary>
/// <param name="KeySize">Key bytes.</param>
/// <param name="ValueSize">Value bytes (one CPU's, for per-CPU maps).</param>
/// <param name="Cpus">CPUs in a per-CPU value (1 otherwise).</param>
/// <param name="PerCpu">Whether values are per CPU.</param>
/// <param name="MapInMap">Whether values are inner map ids.</param>
/// <param name="Mode">How per-CPU values are shown.</param>
internal sealed record EntryLayout(int KeySize, int ValueSize, int Cpus = 1, bool PerCpu = false, bool MapInMap = false, PerCpuMode Mode = PerCpuMode.EachCpu)
{
    /// <summary>The layout of <paramref name="map"/>.</summary>
    /// <param name="map">The map.</param>
    /// <param name="mode">Per-CPU mode.</param>
    /// <returns>The layout.</returns>
    /// <exception cref="CliException">Aggregation asked for values that are not 1, 2, 4 or 8 bytes.</exception>
    /// <param name="raw">Show bytes even when the map has BTF (<c>--raw</c>).</param>
    /// <param name="columns">Whether the output has a column per field (table, csv, ndjson), where per-CPU reductions apply field by field.</param>
    public static EntryLayout Of(BpfMap map, PerCpuMode mode, bool raw = false, bool columns = false)
    {
        var layout = new EntryLayout(map.KeySize, map.ValueSize, map.Cpus, map.IsPerCpu, map.Type.IsMapInMap(), map.IsPerCpu ? mode : PerCpuMode.EachCpu)
        {
            Btf = raw ? null : map.GetBtfFormatter(),
        };
        if (layout.Aggregated && !IsNumericSize(map.ValueSize) && !(columns && layout.Btf is not null))
        {
            string hint = layout.Btf is not null ? "; with BTF, --format table, csv or ndjson reduce each field" : "";
            throw new CliException(ExitCode.Usage, $"--percpu {mode.ToString().ToLowerInvariant()} needs values of 1, 2, 4 or 8 bytes; this map's are {map.ValueSize}{hint}");
        }

        return layout;
    }

    /// <summary>The map's BTF formatter, or null without BTF or with <c>--raw</c>.</summary>
    public BpfMaps.Btf.BtfEntryFormatter? Btf { get; init; }

    /// <summary>The columns of a field-per-column format; built on first use, null without BTF.</summary>
    public FieldColumns? Columns => Btf is null ? null : _columns ??= FieldColumns.Of(this);

    private FieldColumns? _columns;

    /// <summary>Bytes between two CPUs' values: <c>round_up(value_size, 8)</c>.</summary>
    public int Stride => PerCpu ? (ValueSize + 7) & ~7 : ValueSize;

    /// <summary>Bytes of one entry's value buffer.</summary>
    public int ValueBufferSize => PerCpu ? Stride * Cpus : ValueSize;

    /// <summary>Whether per-CPU values are reduced to one number.</summary>
    public bool Aggregated => PerCpu && Mode != PerCpuMode.EachCpu;

    /// <summary>Whether keys read as a little-endian unsigned number.</summary>
    public bool NumericKey => IsNumericSize(KeySize);

    /// <summary>Whether values read as a little-endian unsigned number.</summary>
    public bool NumericValue => IsNumericSize(ValueSize);

    /// <summary>One CPU's value bytes.</summary>
    /// <param name="value">The value buffer.</param>
    /// <param name="cpu">The CPU.</param>
    /// <returns>The bytes.</returns>
    public ReadOnlySpan<byte> CpuValue(ReadOnlySpan<byte> value, int cpu) => value.Slice(cpu * Stride, ValueSize);

    /// <summary>The value as one number: the unsigned little-endian value, reduced over CPUs as <see cref="Mode"/> says (sum when raw).</summary>
    /// <param name="value">The value buffer.</param>
    /// <returns>The number, or null when values are not 1, 2, 4 or 8 bytes.</returns>
    public double? Number(ReadOnlySpan<byte> value)
    {
        if (!NumericValue)
        {
            return null;
        }

        if (!PerCpu)
        {
            return ReadUnsigned(value[..ValueSize]);
        }

        return Mode == PerCpuMode.Avg ? Reduce(value).Average : AggregateUnsigned(value);
    }

    /// <summary>The reduced per-CPU value as text (integers exact, the average with two decimals).</summary>
    /// <param name="value">The value buffer.</param>
    /// <returns>The text.</returns>
    public string AggregateText(ReadOnlySpan<byte> value)
    {
        if (Mode == PerCpuMode.Avg)
        {
            return (Number(value) ?? 0).ToString("0.##", CultureInfo.InvariantCulture);
        }

        return AggregateUnsigned(value).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The reduced per-CPU value for sum/min/max, exact.</summary>
    /// <param name="value">The value buffer.</param>
    /// <returns>The value.</returns>
    public ulong AggregateUnsigned(ReadOnlySpan<byte> value)
    {
        PerCpuReduction<ulong> r = Reduce(value);
        return Mode is PerCpuMode.Min or PerCpuMode.Max ? r.Get(Mode) : r.Sum;
    }

    /// <summary>Reads 1, 2, 4 or 8 bytes as an unsigned little-endian number.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The number.</returns>
    public static ulong ReadUnsigned(ReadOnlySpan<byte> bytes) => bytes.Length switch
    {
        1 => bytes[0],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(bytes),
        8 => BinaryPrimitives.ReadUInt64LittleEndian(bytes),
        _ => 0,
    };

    private static bool IsNumericSize(int size) => size is 1 or 2 or 4 or 8;

    /// <summary>Sum (wrapping), minimum, maximum and mean of the per-CPU values.</summary>
    private PerCpuReduction<ulong> Reduce(ReadOnlySpan<byte> value)
    {
        var r = default(PerCpuReduction<ulong>);
        for (int c = 0; c < Cpus; c++)
        {
            r.Add(ReadUnsigned(CpuValue(value, c)));
        }

        return r;
    }
}
