namespace BpfMaps.Programs;

/// <summary>Where the ready-made counter program takes the key it increments.</summary>
public enum CounterKeySource
{
    /// <summary><c>bpf_get_prandom_u32() % KeyCount</c>: a pseudo-random key in [0, KeyCount).</summary>
    Random,
    /// <summary>The first four bytes of the packet, as a little-endian u32 (XDP and tc programs).</summary>
    PacketData,
}
