namespace BpfMaps.Tests.Infrastructure;

/// <summary>
/// Learns a hash map's bucket grouping from the kernel itself: a lookup batch whose count equals
/// the bucket size returns exactly that bucket (the next non-empty bucket no longer fits).
/// </summary>
public static class Buckets
{
    public static List<List<uint>> Groups(BpfMap map)
    {
        var groups = new List<List<uint>>();
        var cursor = map.CreateCursor();
        int size = 1;
        while (true)
        {
            byte[] keys = new byte[size * map.KeySize];
            byte[] values = new byte[size * map.ValueBufferSize];
            int count = size;
            int err = map.LookupBatchOrErrno(false, cursor, keys, values, ref count);
            if (err == Errno.ENOSPC)
            {
                Assert.Equal(0, count);
                size++;
                continue;
            }

            Assert.True(err is 0 or Errno.ENOENT, $"unexpected {Errno.Name(err)}");
            if (count > 0)
            {
                groups.Add(Enumerable.Range(0, count).Select(i => BitConverter.ToUInt32(keys, i * map.KeySize)).ToList());
            }

            if (err == Errno.ENOENT)
            {
                return groups;
            }

            size = 1;
        }
    }
}
