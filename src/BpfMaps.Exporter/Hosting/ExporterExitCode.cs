namespace BpfMaps.Exporter;

/// <summary>What <see cref="ExporterHost.RunAsync(ExporterOptions, CancellationToken)"/> returns.</summary>
public enum ExporterExitCode
{
    /// <summary>Stopped on request.</summary>
    Ok = 0,

    /// <summary>Could not start (e.g. the listen address is in use), or the read loop failed while running.</summary>
    Failed = 1,

    /// <summary>The configuration is invalid or names a map that does not exist.</summary>
    BadConfig = 2,
}
