using BpfMaps.Features;

namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// Whether this process can use bpf(). Tests that need it call <see cref="Require"/>, which skips
/// with the reason only when bpf() is truly unavailable (no syscall, or no privilege); a kernel that
/// has bpf() but fails a feature makes the test fail, not skip.
/// </summary>
public static class Kernel
{
    private static readonly Lazy<string?> s_unavailable = new(BpfFeatures.WhyUnavailable);

    public static bool Available => s_unavailable.Value is null;

    public static void Require()
    {
        if (s_unavailable.Value is { } reason)
        {
            Assert.Skip($"bpf() unavailable: {reason}");
        }
    }

    public static BpfMap Hash(int maxEntries = 64, int keySize = 4, int valueSize = 8, MapType type = MapType.Hash, MapFlags flags = MapFlags.None, string? name = null)
    {
        Require();
        return BpfMap.Create(new MapSpec { Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, Flags = flags, Name = (name ?? "t_" + type.KernelName()) is var n && n.Length > 15 ? n[..15] : n });
    }

    public static byte[] U32(uint v) => BitConverter.GetBytes(v);

    public static byte[] U64(ulong v) => BitConverter.GetBytes(v);
}
