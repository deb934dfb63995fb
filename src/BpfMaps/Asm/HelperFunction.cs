namespace BpfMaps.Asm;

/// <summary>Numbers of the kernel helpers the builder names (<c>enum bpf_func_id</c>). Any other number can be cast.</summary>
public enum HelperFunction
{
    /// <summary>bpf_map_lookup_elem(map, key): pointer to the value, or NULL. R1 = map, R2 = key pointer.</summary>
    MapLookupElem = 1,
    /// <summary>bpf_map_update_elem(map, key, value, flags): 0 or a negative errno.</summary>
    MapUpdateElem = 2,
    /// <summary>bpf_map_delete_elem(map, key): 0 or a negative errno.</summary>
    MapDeleteElem = 3,
    /// <summary>bpf_ktime_get_ns(): monotonic time in ns.</summary>
    KtimeGetNs = 5,
    /// <summary>bpf_get_prandom_u32(): a pseudo-random u32.</summary>
    GetPrandomU32 = 7,
    /// <summary>bpf_get_smp_processor_id(): the current CPU.</summary>
    GetSmpProcessorId = 8,
}
