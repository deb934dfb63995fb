using BpfMaps.Btf;

namespace BpfMaps;

public sealed partial class BpfMap
{
    private readonly Lock _btfLock = new();
    private BtfSpec? _btf;
    private bool _btfLoaded;
    private BtfEntryFormatter? _btfFormatter;
    private bool _btfFormatterBuilt;

    /// <summary>Whether the map's info names BTF types for its value (and possibly its key).</summary>
    public bool HasBtf => Info.BtfValueTypeId != 0 || Info.BtfVmlinuxValueTypeId != 0;

    /// <summary>
    /// The map's BTF, read once and kept: from the kernel by the map's btf_id (BPF_BTF_GET_FD_BY_ID, Linux
    /// 5.0), or the BTF an in-process map was created with.
    /// </summary>
    /// <returns>The BTF, or null when the map has none.</returns>
    /// <exception cref="BpfException">The kernel refused to hand it out (EPERM without privileges).</exception>
    /// <exception cref="BtfException">The BTF is malformed.</exception>
    public BtfSpec? GetBtf()
    {
        lock (_btfLock)
        {
            if (!_btfLoaded)
            {
                // A backend may keep BTF without an id of its own, so type ids alone are reason enough to ask.
                MapInfo info = Info;
                bool named = info.BtfId != 0 || info.BtfVmlinuxValueTypeId != 0 || info.BtfKeyTypeId != 0 || info.BtfValueTypeId != 0;
                _btf = named ? _backend.LoadBtf() : null;
                _btfLoaded = true;
            }

            return _btf;
        }
    }

    /// <summary>The key's BTF type, or null when the map names none.</summary>
    /// <returns>The type, or null.</returns>
    /// <exception cref="BpfException">The BTF could not be read.</exception>
    /// <exception cref="BtfException">The BTF is malformed or lacks the type.</exception>
    public BtfType? GetBtfKeyType() => Info.BtfKeyTypeId != 0 && GetBtf() is { } btf ? btf.TypeById(Info.BtfKeyTypeId) : null;

    /// <summary>The value's BTF type (for struct_ops maps, from vmlinux), or null when the map names none.</summary>
    /// <returns>The type, or null.</returns>
    /// <exception cref="BpfException">The BTF could not be read.</exception>
    /// <exception cref="BtfException">The BTF is malformed or lacks the type.</exception>
    public BtfType? GetBtfValueType()
    {
        uint id = Info.BtfVmlinuxValueTypeId != 0 ? Info.BtfVmlinuxValueTypeId : Info.BtfValueTypeId;
        return id != 0 && GetBtf() is { } btf ? btf.TypeById(id) : null;
    }

    /// <summary>
    /// A formatter that prints this map's entries by their BTF types, as bpftool does, compiled once and
    /// kept; null when the map has no value type (bpftool then prints bytes).
    /// </summary>
    /// <returns>The formatter, or null.</returns>
    /// <exception cref="BpfException">The BTF could not be read.</exception>
    /// <exception cref="BtfException">The BTF is malformed, or its types do not fit the map's key and value sizes.</exception>
    public BtfEntryFormatter? GetBtfFormatter()
    {
        lock (_btfLock)
        {
            if (_btfFormatterBuilt)
            {
                return _btfFormatter;
            }
        }

        BtfEntryFormatter? built = BuildBtfFormatter();
        lock (_btfLock)
        {
            _btfFormatter = built;
            _btfFormatterBuilt = true;
            return built;
        }
    }

    private BtfEntryFormatter? BuildBtfFormatter()
    {
        BtfType? valueType = GetBtfValueType();
        if (valueType is not { } v)
        {
            return null;
        }

        BtfSpec btf = v.Spec;
        BtfFormatter value = BtfFormatter.Compile(btf, v.Id);
        if (value.Reach > ValueSize)
        {
            throw new BtfException($"BTF value type [{v.Id}] reads {value.Reach} bytes but map '{Name}' has value_size {ValueSize}") { TypeId = v.Id };
        }

        BtfFormatter? key = null;
        if (GetBtfKeyType() is { } k)
        {
            key = BtfFormatter.Compile(k.Spec, k.Id);
            if (key.Reach > KeySize)
            {
                throw new BtfException($"BTF key type [{k.Id}] reads {key.Reach} bytes but map '{Name}' has key_size {KeySize}") { TypeId = k.Id };
            }
        }

        return IsPerCpu ? new BtfEntryFormatter(key, value, Cpus, ValueStride) : new BtfEntryFormatter(key, value);
    }
}
