using BpfMaps.Events;

namespace BpfMaps.Programs.Tests;

/// <summary>A record handler that counts records and their bytes, for the ring and perf buffer tests.</summary>
internal struct Counting : IRecordHandler
{
    public int Count;
    public long Bytes;

    public void OnRecord(ReadOnlySpan<byte> record)
    {
        Count++;
        Bytes += record.Length;
    }
}
