using BpfMaps.Features;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>Skips a test, with the reason, only when bpf() itself is unavailable.</summary>
public static class TestMaps
{
    private static readonly Lazy<string?> s_unavailable = new(BpfFeatures.WhyUnavailable);

    public static void Require()
    {
        if (s_unavailable.Value is { } reason)
        {
            Assert.Skip($"bpf() unavailable: {reason}");
        }
    }

    public static BpfMap Create(MapType type, int keySize, int valueSize, int maxEntries = 64, string? name = null)
    {
        Require();
        return BpfMap.Create(new MapSpec { Type = type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, Name = name ?? UniqueName() });
    }

    /// <summary>A map name no other test (or engineer) on the machine uses: 15 characters at most.</summary>
    public static string UniqueName() => "ex" + Guid.NewGuid().ToString("N")[..12];
}
