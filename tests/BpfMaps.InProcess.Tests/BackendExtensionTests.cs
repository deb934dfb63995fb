using System.Buffers.Binary;

namespace BpfMaps.InProcess.Tests;

/// <summary>
/// The example of "Extension point: map backends" in docs/architecture.md, compiled and run: a decorator
/// derived from <see cref="DelegatingMapBackend"/> that counts lookups, put under a <see cref="BpfMap"/>.
/// </summary>
public class BackendExtensionTests
{
    /// <summary>Counts the lookups that reach the backend; every other call passes through unchanged.</summary>
    private sealed class CountingBackend(IMapBackend inner) : DelegatingMapBackend(inner, ownsInner: false)
    {
        public int Lookups { get; private set; }

        public override int Lookup(ReadOnlySpan<byte> key, Span<byte> value, ulong flags)
        {
            Lookups++;
            return base.Lookup(key, value, flags);
        }
    }

    [Fact]
    public void A_decorator_sees_the_calls_it_overrides_and_passes_the_rest_on()
    {
        using BpfMap map = InProcessMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16 });
        var counting = new CountingBackend(map.Backend);
        using var counted = new BpfMap(counting);

        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(key, 7);
        BinaryPrimitives.WriteUInt64LittleEndian(value, 42);
        counted.Update(key, value);
        value.Clear();

        Assert.True(counted.TryLookup(key, value));
        Assert.Equal(42ul, BinaryPrimitives.ReadUInt64LittleEndian(value));
        Assert.Equal(1, counting.Lookups);
        Assert.Same(map.Backend, DelegatingMapBackend.Innermost(counted.Backend));
    }
}
