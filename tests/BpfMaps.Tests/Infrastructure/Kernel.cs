namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// Whether this process can use bpf(), and small map factories. Tests that need the kernel call
/// <see cref="Require"/>, which skips with the reason only when bpf() is truly unavailable (no syscall,
/// or no privilege); a kernel that has bpf() but fails a feature makes the test fail, not skip. The
/// reason comes from the <see cref="Backends"/> registry, which the suites over both backends use too.
/// </summary>
public static class Kernel
{
    public static bool Available => Backends.KernelUnavailableReason is null;

    public static void Require() => Backends.RequireKernel();

    /// <summary>A kernel map (skips when bpf() is unavailable).</summary>
    public static BpfMap Hash(int maxEntries = 64, int keySize = 4, int valueSize = 8, MapType type = MapType.Hash, MapFlags flags = MapFlags.None, string? name = null)
        => Hash(Backend.Kernel, maxEntries, keySize, valueSize, type, flags, name);

    /// <summary>A map on <paramref name="backend"/> (the kernel case skips when bpf() is unavailable).</summary>
    public static BpfMap Hash(Backend backend, int maxEntries = 64, int keySize = 4, int valueSize = 8, MapType type = MapType.Hash, MapFlags flags = MapFlags.None, string? name = null)
        => Backends.Create(backend, new MapSpec { Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, Flags = flags, Name = (name ?? "t_" + type.KernelName()) is var n && n.Length > 15 ? n[..15] : n });

    public static byte[] U32(uint v) => BitConverter.GetBytes(v);

    public static byte[] U64(ulong v) => BitConverter.GetBytes(v);
}
