namespace BpfMaps.InProcess.Engine;

/// <summary>What tests and tools may ask any hash engine.</summary>
internal interface IHashStats
{
    int NBuckets { get; }

    int Count { get; }

    uint Seed { get; }
}
