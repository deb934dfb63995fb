namespace BpfMaps;

/// <summary>How <see cref="LiveCounterDrainer"/> drains a map that programs keep writing.</summary>
public enum LiveDrainMethod
{
    /// <summary>
    /// BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM, BPF_MAP_DELETE_ELEM per key: an increment landing
    /// between the lookup and the delete is lost.
    /// </summary>
    GetNextKeyLookupDelete,

    /// <summary>
    /// BPF_MAP_LOOKUP_AND_DELETE_BATCH (5.6) over the live map: read and delete happen under the bucket
    /// lock, but a program that looked up an element before the delete still adds to it afterwards.
    /// </summary>
    LookupAndDeleteBatch,

    /// <summary><see cref="BpfMap.Drain"/> on the live map (the batch command through pooled, growing buffers).</summary>
    MapDrain,
}
