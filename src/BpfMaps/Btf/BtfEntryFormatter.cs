namespace BpfMaps.Btf;

/// <summary>
/// Formats whole map entries by their BTF, as bpftool's <c>formatted</c> object and plain BTF dump do:
/// <c>{"key": …, "value": …}</c>, or <c>{"key": …, "values": [{"cpu": N, "value": …}]}</c> for per-CPU
/// maps. The key is left out when the map has no key type (global data sections).
/// </summary>
public sealed class BtfEntryFormatter
{
    private static readonly BtfName s_key = new("key");
    private static readonly BtfName s_value = new("value");
    private static readonly BtfName s_values = new("values");
    private static readonly BtfName s_cpu = new("cpu");

    /// <summary>Creates the formatter.</summary>
    /// <param name="key">The key's formatter, or null when the map has no key type.</param>
    /// <param name="value">The value's formatter.</param>
    /// <param name="cpus">Possible CPUs, for a per-CPU map; 0 otherwise.</param>
    /// <param name="valueStride">Bytes between two CPUs' values (<c>round_up(value_size, 8)</c>), for a per-CPU map.</param>
    /// <exception cref="ArgumentException">A per-CPU stride shorter than the value.</exception>
    public BtfEntryFormatter(BtfFormatter? key, BtfFormatter value, int cpus = 0, int valueStride = 0)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfNegative(cpus);
        if (cpus > 0 && valueStride < value.Reach)
        {
            throw new ArgumentException($"per-CPU stride {valueStride} is shorter than the {value.Reach} bytes the value type reads", nameof(valueStride));
        }

        Key = key;
        Value = value;
        Cpus = cpus;
        ValueStride = valueStride;
    }

    /// <summary>The key's formatter, or null.</summary>
    public BtfFormatter? Key { get; }

    /// <summary>The value's formatter.</summary>
    public BtfFormatter Value { get; }

    /// <summary>Possible CPUs of a per-CPU map, or 0.</summary>
    public int Cpus { get; }

    /// <summary>Bytes between two CPUs' values of a per-CPU map.</summary>
    public int ValueStride { get; }

    /// <summary>Writes one entry's object.</summary>
    /// <typeparam name="TSink">The sink type.</typeparam>
    /// <param name="sink">Where to write.</param>
    /// <param name="key">The key bytes.</param>
    /// <param name="value">The value bytes (every CPU's, at <see cref="ValueStride"/>, for per-CPU maps).</param>
    /// <exception cref="ArgumentException">A buffer is shorter than its type reads.</exception>
    public void Write<TSink>(ref TSink sink, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        where TSink : IBtfValueSink
    {
        sink.StartObject();
        if (Key is not null)
        {
            sink.WriteName(s_key);
            Key.Write(ref sink, key);
        }

        if (Cpus == 0)
        {
            sink.WriteName(s_value);
            Value.Write(ref sink, value);
        }
        else
        {
            if (value.Length < ((Cpus - 1) * (long)ValueStride) + Value.Reach)
            {
                throw new ArgumentException($"the per-CPU value is {value.Length} bytes but {Cpus} CPUs at a stride of {ValueStride} need {((Cpus - 1) * (long)ValueStride) + Value.Reach}", nameof(value));
            }

            sink.WriteName(s_values);
            sink.StartArray();
            for (int cpu = 0; cpu < Cpus; cpu++)
            {
                sink.StartObject();
                sink.WriteName(s_cpu);
                sink.WriteSigned(cpu);
                sink.WriteName(s_value);
                Value.Write(ref sink, value.Slice(cpu * ValueStride));
                sink.EndObject();
            }

            sink.EndArray();
        }

        sink.EndObject();
    }
}
