using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps.InProcess.Engine;

/// <summary>An engine map with memory to map (mmapable arrays, ring buffers): <see cref="IMapMemoryBackend"/> for the core.</summary>
internal interface IMappableCore
{
    /// <summary>As <see cref="IMapMemoryBackend.MapMemory"/>, with the kernel's errno.</summary>
    int MapMemory(long offset, long length, bool writable, out MappedRegion? region);

    /// <summary>As <see cref="IMapMemoryBackend.OpenPollHandle"/>.</summary>
    int OpenPollHandle(out SafeHandle? handle);
}
