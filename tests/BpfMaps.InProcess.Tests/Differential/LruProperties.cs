using CsCheck;

namespace BpfMaps.InProcess.Tests.Differential;

/// <summary>
/// LRU maps cannot be compared entry by entry: the kernel's per-CPU free lists evict earlier than a
/// strict LRU and pick other victims. What is deterministic, and checked here on both backends
/// after every step of random programs: never more than max_entries; a successful update leaves the
/// key with exactly that value; every present key holds the last value written to it, and a deleted
/// key stays gone until written again; flag errors agree with presence; batch dumps agree with the
/// get_next_key walk, which follows jhash bucket order.
/// </summary>
public class LruProperties
{
    [Theory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Lru_invariants_hold(Backend backend)
    {
        if (backend == Backend.Kernel)
        {
            Backends.RequireKernel();
        }

        long iter = long.TryParse(Environment.GetEnvironmentVariable("BPFMAPS_SOAK_ITER"), out long n) && n > 0 ? n / 4 : 400;
        ProgramGen.Program(lru: true).Sample(p => Check(backend, p), iter: iter, threads: 2, print: p => p.ToString());
    }

    private static void Check(Backend backend, MapProgram program)
    {
        // Read-only and write-only maps are covered by the exact differential suite.
        MapConfig c = program.Config with { Flags = program.Config.Flags & ~(MapFlags.ReadOnly | MapFlags.WriteOnly) };
        using BpfMap map = Backends.Create(backend, c.Spec);
        IMapBackend m = map.Backend;
        int vs = map.ValueBufferSize;
        var model = new Dictionary<string, byte[]>();
        var buf = new byte[vs];
        foreach (Op op in program.Ops)
        {
            byte[] key = DiffRunner.KeyBytes(c, op.Key);
            string k = Bytes.Hex(key);
            bool present = m.Lookup(key, buf, 0) == 0;
            switch (op.Kind)
            {
                case OpKind.Update or OpKind.UpdateBatch:
                {
                    byte[] value = Bytes.Fill(vs, op.Value);
                    ulong flags = op.Kind == OpKind.UpdateBatch ? 0 : op.Flags;
                    int err = m.Update(key, value, flags);
                    if (flags > 2)
                    {
                        Assert.Equal(Errno.EINVAL, err);
                    }
                    else if (err == 0)
                    {
                        Assert.Equal(0, m.Lookup(key, buf, 0));
                        Assert.Equal(value, buf);
                        model[k] = value;
                    }
                    else
                    {
                        // EEXIST needs the key present; ENOENT (EXIST) may follow evicting the very key.
                        Assert.True(err == Errno.EEXIST && present && flags == 1 || err == Errno.ENOENT && flags == 2, $"update {Errno.Name(err)} present={present}");
                    }

                    break;
                }

                case OpKind.Delete or OpKind.DeleteBatch:
                    Assert.Equal(present ? 0 : Errno.ENOENT, m.Delete(key));
                    model.Remove(k);
                    break;
                case OpKind.LookupAndDelete:
                {
                    int err = m.LookupAndDelete(key, buf, op.Flags);
                    Assert.Equal(op.Flags != 0 ? Errno.EINVAL : present ? 0 : Errno.ENOENT, err);
                    if (err == 0)
                    {
                        Assert.Equal(model[k], buf);
                        model.Remove(k);
                    }

                    break;
                }

                case OpKind.LookupAndDeleteBatch:
                {
                    foreach (MapEntry e in map.Drain(new DumpOptions { BatchSize = Math.Max(1, op.Count) }))
                    {
                        Assert.Equal(model[Bytes.Hex(e.Key)], e.Value.ToArray());
                    }

                    model.Clear();
                    break;
                }

                default:
                    break;
            }

            var walked = Bytes.WalkKeys(m, c.KeySize);
            Assert.InRange(walked.Count, 0, map.MaxEntries);
            var buckets = walked.Select(w => Engine.JHash.Hash(w, 0) & (uint)(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)map.MaxEntries) - 1)).ToList();
            Assert.Equal(buckets.Order(), buckets);
            var batched = new List<string>();
            foreach (MapEntry e in map.Dump(new DumpOptions { BatchSize = 5 }))
            {
                batched.Add(Bytes.Hex(e.Key));
                Assert.True(model.TryGetValue(Bytes.Hex(e.Key), out byte[]? expected), "a key never written (or deleted) is present");
                Assert.Equal(expected, e.Value.ToArray());
            }

            Assert.Equal(walked.Select(w => Bytes.Hex(w)), batched);
        }
    }
}
