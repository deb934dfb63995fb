using BpfMaps.Kernel;

namespace BpfMaps.Features;

/// <summary>Whether a feature is there, as found by a probe.</summary>
public enum FeatureStatus
{
    /// <summary>The kernel has it.</summary>
    Supported,
    /// <summary>The kernel lacks it.</summary>
    NotSupported,
    /// <summary>The probe could not tell (for example no privilege to create maps).</summary>
    Unknown,
}

/// <summary>
/// Feature probes. Each creates a tiny map and issues the command with count 0, which a kernel
/// that has the command answers with success before touching any buffer. Results are cached.
/// </summary>
public static class BpfFeatures
{
    private static readonly Lazy<FeatureStatus> s_batch = new(() => ProbeBatch(MapType.Hash, inner: false));
    private static readonly Lazy<FeatureStatus> s_perCpuArrayBatch = new(() => ProbeBatch(MapType.PerCpuArray, inner: false));
    private static readonly Lazy<FeatureStatus> s_mapInMapBatch = new(() => ProbeBatch(MapType.HashOfMaps, inner: true));

    /// <summary>The four batch commands on hash maps (Linux 5.6).</summary>
    public static FeatureStatus BatchApi => s_batch.Value;

    /// <summary>Batch commands on per-CPU arrays (Linux 5.13).</summary>
    public static FeatureStatus PerCpuArrayBatch => s_perCpuArrayBatch.Value;

    /// <summary>Batch commands on map-in-map types (Linux 5.19).</summary>
    public static FeatureStatus MapInMapBatch => s_mapInMapBatch.Value;

    /// <summary>Throws unless the batch API is there.</summary>
    /// <exception cref="BpfNotSupportedException">The kernel is older than 5.6.</exception>
    public static void RequireBatchApi() => Require(BatchApi, "BPF_MAP_LOOKUP_BATCH", "5.6");

    /// <summary>Throws unless per-CPU arrays take batch commands.</summary>
    /// <exception cref="BpfNotSupportedException">The kernel is older than 5.13.</exception>
    public static void RequirePerCpuArrayBatch() => Require(PerCpuArrayBatch, "batch ops on percpu_array", "5.13");

    /// <summary>Throws unless map-in-map types take batch commands.</summary>
    /// <exception cref="BpfNotSupportedException">The kernel is older than 5.19.</exception>
    public static void RequireMapInMapBatch() => Require(MapInMapBatch, "batch ops on map-in-map", "5.19");

    private static void Require(FeatureStatus status, string feature, string minimumKernel)
    {
        if (status != FeatureStatus.Supported)
        {
            throw new BpfNotSupportedException(feature, minimumKernel, 0);
        }
    }

    internal static FeatureStatus ProbeBatch(MapType type, bool inner)
    {
        try
        {
            using BpfMap? template = inner ? BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 }) : null;
            using var map = BpfMap.Create(new MapSpec
            {
                Type = type,
                KeySize = 4,
                ValueSize = inner ? 4 : 8,
                MaxEntries = 1,
                InnerMap = template,
            });
            uint count = 0;
            Span<byte> cursor = stackalloc byte[4];
            int err = map.Backend.LookupBatch(false, default, cursor, default, default, ref count, 0, 0);
            return err switch
            {
                0 => FeatureStatus.Supported,
                Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP => FeatureStatus.NotSupported,
                _ => FeatureStatus.Unknown,
            };
        }
        catch (BpfException e) when (e is not BpfNotSupportedException)
        {
            return FeatureStatus.Unknown;
        }
    }

    /// <summary>Whether bpf() can be used at all by this process.</summary>
    /// <returns>Null when it can, else the reason it cannot.</returns>
    public static string? WhyUnavailable()
    {
        if (!BpfSyscall.IsArchitectureSupported)
        {
            return "not Linux, or an architecture without a known bpf syscall number";
        }

        try
        {
            using var m = BpfMap.Create(new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 });
            return null;
        }
        catch (BpfException e) when (e.Errno is Errno.EPERM or Errno.EACCES or Errno.ENOSYS)
        {
            return e.Message;
        }
    }
}
