namespace BpfMaps;

/// <summary>
/// The buffer geometry of one map as the bpf() map commands see it: how many bytes a key, a value
/// (every CPU's, for per-CPU maps) and a batch cursor take in user memory. The kernel reads and writes
/// exactly these sizes, whatever the caller's buffers are, so every backend checks spans against them
/// before the kernel or the engine touches the memory.
/// </summary>
/// <remarks>
/// The checks here are the memory-safety floor that backends apply: a span must be at least as long as
/// what the command reads or writes through it. <see cref="BpfMap"/> is stricter and wants exact sizes.
/// </remarks>
public readonly record struct MapLayout
{
    /// <summary>Computes the layout of a map.</summary>
    /// <param name="info">The map's info.</param>
    /// <param name="possibleCpus">Possible CPUs, which size per-CPU values.</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative size, or fewer than one CPU.</exception>
    public MapLayout(MapInfo info, int possibleCpus)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentOutOfRangeException.ThrowIfNegative(info.KeySize);
        ArgumentOutOfRangeException.ThrowIfNegative(info.ValueSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(possibleCpus, 1);
        KeySize = info.KeySize;
        ValueSize = info.ValueSize;
        bool perCpu = info.Type.IsPerCpu();
        Cpus = perCpu ? possibleCpus : 1;
        ValueStride = perCpu ? PossibleCpus.Stride(info.ValueSize) : info.ValueSize;
        ValueBufferSize = perCpu ? ValueStride * Cpus : info.Type.IsMapInMap() ? sizeof(uint) : info.ValueSize;
        CursorSize = Math.Max(info.KeySize, sizeof(uint));
    }

    /// <summary>Bytes of a key (<c>key_size</c>).</summary>
    public int KeySize { get; }

    /// <summary>Bytes of one CPU's value (<c>value_size</c>).</summary>
    public int ValueSize { get; }

    /// <summary>Value slots per entry: possible CPUs for per-CPU maps, else 1.</summary>
    public int Cpus { get; }

    /// <summary>Bytes between two CPUs' values: <c>round_up(value_size, 8)</c> for per-CPU maps.</summary>
    public int ValueStride { get; }

    /// <summary>Bytes one entry's value takes in lookup, update and batch buffers.</summary>
    public int ValueBufferSize { get; }

    /// <summary>
    /// Bytes of a batch cursor: <c>max(key_size, 4)</c>. Hash tables read and write a u32 bucket
    /// index through <c>in_batch</c>/<c>out_batch</c>, the generic batch code a whole key.
    /// </summary>
    public int CursorSize { get; }

    /// <summary>Checks that <paramref name="key"/> holds a whole key (BPF_MAP_*_ELEM read <c>key_size</c> bytes).</summary>
    /// <param name="key">The key buffer.</param>
    /// <param name="paramName">The caller's parameter name, for the exception.</param>
    /// <exception cref="MapSizeMismatchException">The span is shorter than <see cref="KeySize"/>.</exception>
    public void CheckKey(ReadOnlySpan<byte> key, string paramName)
    {
        if (key.Length < KeySize)
        {
            BpfErrors.ThrowSize(paramName, key.Length, KeySize, $"{paramName} buffer is {key.Length} bytes but the map's key_size is {KeySize}");
        }
    }

    /// <summary>Checks that a value buffer of <paramref name="length"/> bytes holds a whole value (every CPU's).</summary>
    /// <param name="length">The value buffer's length.</param>
    /// <param name="paramName">The caller's parameter name, for the exception.</param>
    /// <exception cref="MapSizeMismatchException">The buffer is shorter than <see cref="ValueBufferSize"/>.</exception>
    public void CheckValue(int length, string paramName)
    {
        if (length < ValueBufferSize)
        {
            BpfErrors.ThrowSize(paramName, length, ValueBufferSize, $"{paramName} buffer is {length} bytes but one value of this map needs {ValueBufferSize}{(Cpus > 1 ? $" ({Cpus} CPUs x {ValueStride})" : "")}");
        }
    }

    /// <summary>
    /// Checks that <paramref name="count"/> entries fit in the key and value buffers of a batch command,
    /// which reads or writes <c>count</c> keys and values whatever the buffers' lengths.
    /// </summary>
    /// <param name="keysLength">Bytes in the keys buffer.</param>
    /// <param name="valuesLength">Bytes in the values buffer; ignored when <paramref name="checkValues"/> is false.</param>
    /// <param name="count">The count passed to the kernel.</param>
    /// <param name="checkValues">False for BPF_MAP_DELETE_BATCH, which has no values.</param>
    /// <exception cref="MapSizeMismatchException">A buffer is shorter than <paramref name="count"/> entries.</exception>
    public void CheckBatch(int keysLength, int valuesLength, uint count, bool checkValues = true)
    {
        CheckEntries(keysLength, count, KeySize, "keys");
        if (checkValues)
        {
            CheckEntries(valuesLength, count, ValueBufferSize, "values");
        }
    }

    /// <summary>Checks the <c>in_batch</c> and <c>out_batch</c> buffers: each empty (a null pointer) or a whole cursor.</summary>
    /// <param name="inLength">Bytes in the in_batch buffer.</param>
    /// <param name="outLength">Bytes in the out_batch buffer.</param>
    /// <exception cref="MapSizeMismatchException">A cursor buffer is neither empty nor <see cref="CursorSize"/> bytes or more.</exception>
    public void CheckCursor(int inLength, int outLength)
    {
        if (inLength != 0 && inLength < CursorSize)
        {
            BpfErrors.ThrowSize("inBatch", inLength, CursorSize, $"inBatch buffer is {inLength} bytes but a batch cursor of this map is {CursorSize}");
        }

        if (outLength != 0 && outLength < CursorSize)
        {
            BpfErrors.ThrowSize("outBatch", outLength, CursorSize, $"outBatch buffer is {outLength} bytes but a batch cursor of this map is {CursorSize}");
        }
    }

    internal static void CheckEntries(int length, long count, int elementSize, string name)
    {
        long need = count * elementSize;
        if (length < need)
        {
            BpfErrors.ThrowSize(name, length, (int)Math.Min(need, int.MaxValue), $"{name} buffer is {length} bytes but {count} entries of {elementSize} bytes need {need}");
        }
    }
}
