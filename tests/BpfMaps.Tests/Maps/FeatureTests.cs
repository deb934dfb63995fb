using BpfMaps.Features;
using BpfMaps.Tests.Infrastructure;

namespace BpfMaps.Tests.Maps;

/// <summary>Probes must find what a kernel of this version has: a new kernel missing a feature fails, it does not skip.</summary>
public class FeatureTests
{
    private static Version KernelVersion()
    {
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        string[] parts = release.Split('.', '-');
        return new Version(int.Parse(parts[0]), int.Parse(parts[1]));
    }

    [Theory]
    [InlineData("batch", 5, 6)]
    [InlineData("percpu_array batch", 5, 13)]
    [InlineData("map-in-map batch", 5, 19)]
    public void Probe_agrees_with_the_kernel_version(string feature, int major, int minor)
    {
        Infrastructure.Kernel.Require();
        FeatureStatus status = feature switch
        {
            "batch" => BpfFeatures.BatchApi,
            "percpu_array batch" => BpfFeatures.PerCpuArrayBatch,
            _ => BpfFeatures.MapInMapBatch,
        };
        if (KernelVersion() >= new Version(major, minor))
        {
            Assert.Equal(FeatureStatus.Supported, status);
        }
        else
        {
            Assert.Equal(FeatureStatus.NotSupported, status);
            var e = Assert.Throws<BpfNotSupportedException>(() => BpfFeatures.RequireMapInMapBatch());
            Assert.NotNull(e.MinimumKernel);
        }
    }

    [Fact]
    public void Availability_is_reported_with_a_reason()
    {
        string? why = BpfFeatures.WhyUnavailable();
        Assert.Equal(Infrastructure.Kernel.Available, why is null);
    }
}
