using static BpfMaps.Tests.Infrastructure.Kernel;

namespace BpfMaps.Tests.Maps;

/// <summary>Misuse of the library says what was misused, not a generic exception or a wrong count.</summary>
public sealed class MisuseMessageTests
{
    [Fact]
    public void A_batch_on_a_closed_map_says_nothing_was_processed()
    {
        var map = Hash(maxEntries: 16);
        var cursor = map.CreateCursor();
        map.Dispose();
        var e = Assert.Throws<BpfBatchException>(() => map.LookupBatch(cursor, new byte[16 * 4], new byte[16 * 8]));
        Assert.Equal(Errno.EBADF, e.Errno);
        Assert.Equal(0, e.Processed);
        Assert.Contains("nothing processed", e.Message);
        Assert.DoesNotContain("16 entries", e.Message);
    }

    [Fact]
    public void Current_before_move_next_and_move_next_after_dispose_are_named()
    {
        using var map = Hash();
        map.Update(U32(1), U64(2));
        MapEnumerator e = map.Dump().GetEnumerator();
        var before = Assert.Throws<InvalidOperationException>(() => _ = e.Current);
        Assert.Contains("before MoveNext()", before.Message);
        Assert.True(e.MoveNext());
        Assert.Equal(U32(1), e.Current.Key.ToArray());
        Assert.False(e.MoveNext());
        var after = Assert.Throws<InvalidOperationException>(() => _ = e.Current);
        Assert.Contains("the dump is over", after.Message);
        e.Dispose();
        Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
        Assert.Throws<ObjectDisposedException>(() => e.MoveNextBatch());
        Assert.Throws<ObjectDisposedException>(() => _ = e.Current);
    }
}
