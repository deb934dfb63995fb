using System.Buffers;
using System.Globalization;
using System.Text.Json;
using BpfMaps.Btf;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Output;

/// <summary>
/// The columns of a map with BTF in table, csv and ndjson: one per leaf field, named <c>key.saddr</c>,
/// <c>value.comm</c>, <c>value.slots[2]</c> (<c>key</c> or <c>value</c> alone when the type is a scalar).
/// Per-CPU maps show <c>cpuN.FIELD</c> for every CPU, or, with <c>--percpu sum|min|max|avg</c>, one
/// <c>value.FIELD</c> reduced over the CPUs (numeric fields; others show CPU 0's value).
/// </summary>
internal sealed class FieldColumns
{
    private readonly EntryLayout _layout;

    private FieldColumns(EntryLayout layout, List<FieldColumn> columns)
    {
        _layout = layout;
        All = columns;
    }

    /// <summary>The columns, key fields first.</summary>
    public IReadOnlyList<FieldColumn> All { get; }

    /// <summary>The columns of <paramref name="layout"/>, which must have BTF.</summary>
    /// <param name="layout">The layout.</param>
    /// <returns>The columns.</returns>
    public static FieldColumns Of(EntryLayout layout)
    {
        BtfEntryFormatter btf = layout.Btf ?? throw new InvalidOperationException("no BTF");
        var columns = new List<FieldColumn>();
        if (btf.Key is { } key)
        {
            columns.AddRange(key.Fields.Select(f => new FieldColumn(Name("key", f), true, -1, f)));
        }

        if (layout.PerCpu && !layout.Aggregated)
        {
            for (int cpu = 0; cpu < layout.Cpus; cpu++)
            {
                string part = string.Create(CultureInfo.InvariantCulture, $"cpu{cpu}");
                columns.AddRange(btf.Value.Fields.Select(f => new FieldColumn(Name(part, f), false, cpu, f)));
            }
        }
        else
        {
            columns.AddRange(btf.Value.Fields.Select(f => new FieldColumn(Name("value", f), false, -1, f)));
        }

        return new FieldColumns(layout, columns);
    }

    /// <summary>The column named <paramref name="name"/>, or the column of that field summed over CPUs for per-CPU maps shown raw.</summary>
    /// <param name="name">A name such as <c>value.bytes</c>.</param>
    /// <returns>The column.</returns>
    /// <exception cref="BtfException">No such field; the message lists the fields there are.</exception>
    public FieldColumn Find(string name)
    {
        FieldColumn? found = All.FirstOrDefault(c => c.Name == name);
        if (found is not null)
        {
            return found;
        }

        // value.FIELD on a per-CPU map shown per CPU: the field over all CPUs.
        if (_layout.PerCpu && !_layout.Aggregated && name.StartsWith("value", StringComparison.Ordinal))
        {
            string path = name == "value" ? string.Empty : name.StartsWith("value.", StringComparison.Ordinal) ? name[6..] : "\0";
            BtfField? f = _layout.Btf!.Value.Fields.FirstOrDefault(x => x.Path == path);
            if (f is not null)
            {
                return new FieldColumn(name, false, -1, f);
            }
        }

        IEnumerable<string> names = All.Where(c => c.Cpu <= 0).Select(c => c.Cpu == 0 ? "value" + c.Name[c.Name.IndexOf('.', StringComparison.Ordinal)..] : c.Name).Distinct();
        throw new BtfException($"no field '{name}' in this map's BTF; its fields are {string.Join(", ", names)}");
    }

    /// <summary>Writes a column's cell as text.</summary>
    /// <param name="column">The column.</param>
    /// <param name="output">Where the UTF-8 text goes.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    public void WriteText(FieldColumn column, IBufferWriter<byte> output, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (column.InKey)
        {
            column.Field.WriteText(output, key);
        }
        else if (Reduces(column))
        {
            Span<byte> s = output.GetSpan(48);
            int n = FormatReduced(column, value, s);
            output.Advance(n);
        }
        else
        {
            column.Field.WriteText(output, CpuValue(column, value));
        }
    }

    /// <summary>Writes a column's cell as a JSON value (numbers as numbers, text as strings).</summary>
    /// <param name="column">The column.</param>
    /// <param name="w">The writer, after the property name.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    public void WriteJson(FieldColumn column, Utf8JsonWriter w, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (!column.InKey && Reduces(column))
        {
            Span<byte> s = stackalloc byte[48];
            w.WriteRawValue(s[..FormatReduced(column, value, s)], skipInputValidation: true);
            return;
        }

        var sink = new BtfJsonWriterSink(w);
        column.Field.Write(ref sink, column.InKey ? key : CpuValue(column, value));
    }

    /// <summary>The column's number, for sorting: reduced over CPUs as the layout says (summed when shown per CPU).</summary>
    /// <param name="column">The column.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    /// <returns>The number, or null for text fields.</returns>
    public double? Number(FieldColumn column, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (column.InKey)
        {
            return column.Field.TryGetNumber(key, out double k) ? k : null;
        }

        if (_layout.PerCpu && column.Cpu < 0 && column.Field.IsNumeric)
        {
            return Reduce(column.Field, value, _layout.Aggregated ? _layout.Mode : PerCpuMode.Sum).Number;
        }

        return column.Field.TryGetNumber(CpuValue(column, value), out double v) ? v : null;
    }

    /// <summary>The column's text, for sorting text fields.</summary>
    /// <param name="column">The column.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value buffer.</param>
    /// <returns>The text.</returns>
    public string Text(FieldColumn column, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        => column.Field.ToText(column.InKey ? key : CpuValue(column, value));

    private static string Name(string part, BtfField f) => f.Path.Length == 0 ? part : f.Path[0] == '[' ? part + f.Path : $"{part}.{f.Path}";

    private bool Reduces(FieldColumn column) => _layout.Aggregated && column.Field.Kind is BtfFieldKind.Unsigned or BtfFieldKind.Signed or BtfFieldKind.Bits or BtfFieldKind.Float;

    private ReadOnlySpan<byte> CpuValue(FieldColumn column, ReadOnlySpan<byte> value)
        => _layout.PerCpu ? value.Slice(Math.Max(column.Cpu, 0) * _layout.Stride, _layout.ValueSize) : value;

    private int FormatReduced(FieldColumn column, ReadOnlySpan<byte> value, Span<byte> dest)
    {
        (Int128? exact, double number) = Reduce(column.Field, value, _layout.Mode);
        int n;
        if (exact is { } e)
        {
            e.TryFormat(dest, out n, default, CultureInfo.InvariantCulture);
        }
        else
        {
            number.TryFormat(dest, out n, _layout.Mode == PerCpuMode.Avg ? "0.##" : default, CultureInfo.InvariantCulture);
        }

        return n;
    }

    /// <summary>A numeric field over every CPU: exact for integers (sum, min, max), a double for averages and floats.</summary>
    private (Int128? Exact, double Number) Reduce(BtfField field, ReadOnlySpan<byte> value, PerCpuMode mode)
    {
        int cpus = _layout.Cpus;
        if (field.Kind != BtfFieldKind.Float && mode != PerCpuMode.Avg)
        {
            Int128 sum = 0, min = Int128.MaxValue, max = Int128.MinValue;
            for (int c = 0; c < cpus; c++)
            {
                field.TryGetInteger(value.Slice(c * _layout.Stride, _layout.ValueSize), out Int128 v);
                sum += v;
                min = Int128.Min(min, v);
                max = Int128.Max(max, v);
            }

            Int128 r = mode switch { PerCpuMode.Min => cpus == 0 ? 0 : min, PerCpuMode.Max => cpus == 0 ? 0 : max, _ => sum };
            return (r, (double)r);
        }

        double dsum = 0, dmin = double.MaxValue, dmax = double.MinValue;
        for (int c = 0; c < cpus; c++)
        {
            field.TryGetNumber(value.Slice(c * _layout.Stride, _layout.ValueSize), out double v);
            dsum += v;
            dmin = Math.Min(dmin, v);
            dmax = Math.Max(dmax, v);
        }

        double d = mode switch
        {
            PerCpuMode.Min => cpus == 0 ? 0 : dmin,
            PerCpuMode.Max => cpus == 0 ? 0 : dmax,
            PerCpuMode.Avg => cpus == 0 ? 0 : dsum / cpus,
            _ => dsum,
        };
        return (null, d);
    }
}

/// <summary>One column: a field of the key, or of the value (of one CPU, or reduced over all).</summary>
/// <param name="Name">The column's name, such as <c>value.comm</c> or <c>cpu1.packets</c>.</param>
/// <param name="InKey">Whether the field is in the key.</param>
/// <param name="Cpu">The CPU a per-CPU column shows, or -1.</param>
/// <param name="Field">The field.</param>
internal sealed record FieldColumn(string Name, bool InKey, int Cpu, BtfField Field);
