using BpfMaps.Programs;

namespace BpfMaps.Measurements;

/// <summary>The drain methods <see cref="DrainRace"/> compares.</summary>
public enum DrainMethod
{
    /// <summary>(a) get_next_key + lookup + delete on the live map.</summary>
    GetNextKeyLookupDelete,
    /// <summary>(b) BPF_MAP_LOOKUP_AND_DELETE_BATCH on the live map.</summary>
    LookupAndDeleteBatch,
    /// <summary>(c) <see cref="BpfMap.Drain"/> on the live map.</summary>
    MapDrain,
    /// <summary>(d) <see cref="SwapDrainMap"/>: swap the inner map of an ARRAY_OF_MAPS, then drain the retired one.</summary>
    SwapDrain,
}
