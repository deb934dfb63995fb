using System.Buffers.Binary;
using System.Text;
using BpfMaps.InProcess;

namespace BpfMaps.InProcess.Tests.Differential;

/// <summary>
/// Runs one <see cref="MapProgram"/> on a kernel map and on an in-process map side by side, and
/// after every step compares what each returned: errno, every output buffer byte (pre-filled with a
/// sentinel, so "not written" is compared too), batch counts and cursors, then a full dump in
/// get_next_key order with values.
/// </summary>
public sealed class DiffRunner : IDisposable
{
    private const byte Sentinel = 0xCD;
    private readonly MapConfig _config;
    private readonly Side _kernel;
    private readonly Side _engine;

    private DiffRunner(MapConfig config, Side kernel, Side engine)
    {
        _config = config;
        _kernel = kernel;
        _engine = engine;
    }

    /// <summary>Creates a map, or gives the errno its creation failed with.</summary>
    private static BpfMap? TryCreate(Func<BpfMap> create, out int errno)
    {
        errno = 0;
        try
        {
            return create();
        }
        catch (BpfException ex)
        {
            errno = ex.Errno;
        }

        return null;
    }

    /// <summary>Runs the program; throws with the first difference.</summary>
    public static void Run(MapProgram program)
    {
        MapConfig c = program.Config;
        BpfMap? k = TryCreate(() => BpfMap.Create(c.Spec), out int kErr);
        BpfMap? e = TryCreate(() => InProcessMap.Create(c.Spec), out int eErr);

        if (k is null || e is null)
        {
            k?.Dispose();
            e?.Dispose();
            if (kErr != eErr)
            {
                throw new DifferenceException($"create {c}: kernel {Errno.Name(kErr)}, in-process {Errno.Name(eErr)}");
            }

            return;
        }

        using var runner = new DiffRunner(c, new Side(k), new Side(e));
        runner.Compare(-1, "create", runner._kernel.Info(), runner._engine.Info());
        for (int i = 0; i < program.Ops.Length; i++)
        {
            Op op = program.Ops[i];
            string ko = runner._kernel.Apply(c, op);
            string eo = runner._engine.Apply(c, op);
            runner.Compare(i, op.ToString(), ko, eo);
            runner.Compare(i, op + " then dump", runner._kernel.Dump(), runner._engine.Dump());
        }
    }

    private void Compare(int step, string what, string kernel, string engine)
    {
        if (kernel != engine)
        {
            throw new DifferenceException($"{_config} step {step} {what}:\n  kernel:     {kernel}\n  in-process: {engine}");
        }
    }

    public void Dispose()
    {
        _kernel.Map.Dispose();
        _engine.Map.Dispose();
    }

    public static byte[] KeyBytes(MapConfig c, int key)
    {
        if (c.Type.IsArray())
        {
            return Bytes.U32((uint)key);
        }

        // Keys of one program share a prefix pattern, so short keys still make distinct values.
        byte[] b = Bytes.Fill(c.KeySize, key * 7919 + 1);
        if (c.KeySize >= 2)
        {
            b[0] = (byte)key;
            b[1] = (byte)(key >> 8);
        }
        else
        {
            b[0] = (byte)key;
        }

        return b;
    }

    private sealed class Side(BpfMap map)
    {
        public BpfMap Map { get; } = map;

        private readonly byte[] _cursor = new byte[Math.Max(map.KeySize, 4)];
        private bool _haveCursor;

        public string Info() => $"key {Map.KeySize} value {Map.ValueSize} max {Map.MaxEntries} buf {Map.ValueBufferSize} flags {Map.Info.Flags}";

        private byte[] Value(int seed) => Bytes.Fill(Map.ValueBufferSize, seed);

        private static byte[] Filled(int n)
        {
            var b = new byte[n];
            b.AsSpan().Fill(Sentinel);
            return b;
        }

        public string Apply(MapConfig c, Op op)
        {
            IMapBackend m = Map.Backend;
            int ks = Map.KeySize, vs = Map.ValueBufferSize;
            switch (op.Kind)
            {
                case OpKind.Update:
                    return Err.Name(m.Update(KeyBytes(c, op.Key), Value(op.Value), op.Flags));
                case OpKind.Lookup:
                {
                    byte[] v = Filled(vs);
                    int err = m.Lookup(KeyBytes(c, op.Key), v, op.Flags);
                    return $"{Err.Name(err)} {Bytes.Hex(v)}";
                }

                case OpKind.Delete:
                    return Err.Name(m.Delete(KeyBytes(c, op.Key)));
                case OpKind.LookupAndDelete:
                {
                    byte[] v = Filled(vs);
                    int err = m.LookupAndDelete(KeyBytes(c, op.Key), v, op.Flags);
                    return $"{Err.Name(err)} {Bytes.Hex(v)}";
                }

                case OpKind.NextKey:
                {
                    byte[] next = Filled(ks);
                    int err = m.GetNextKey(op.Key < 0 ? ReadOnlySpan<byte>.Empty : KeyBytes(c, op.Key), next);
                    return $"{Err.Name(err)} {Bytes.Hex(next)}";
                }

                case OpKind.LookupBatch:
                case OpKind.LookupAndDeleteBatch:
                {
                    byte[] inBatch;
                    if (op.Cursor == -1 || (op.Cursor == -2 && !_haveCursor))
                    {
                        inBatch = [];
                    }
                    else if (op.Cursor == -2)
                    {
                        inBatch = (byte[])_cursor.Clone();
                    }
                    else
                    {
                        inBatch = new byte[_cursor.Length];
                        BinaryPrimitives.WriteUInt32LittleEndian(inBatch, (uint)op.Cursor);
                    }

                    byte[] outBatch = Filled(_cursor.Length);
                    byte[] keys = Filled(op.Count * ks);
                    byte[] values = Filled(op.Count * vs);
                    uint count = (uint)op.Count;
                    int err = m.LookupBatch(op.Kind == OpKind.LookupAndDeleteBatch, inBatch, outBatch, keys, values, ref count, op.Flags, op.BatchFlags);
                    if (err is 0 or Errno.ENOENT or Errno.ENOSPC && !outBatch.AsSpan().SequenceEqual(Filled(_cursor.Length)))
                    {
                        outBatch.CopyTo(_cursor, 0);
                        _haveCursor = true;
                    }

                    return $"{Err.Name(err)} count={count} out={Bytes.Hex(outBatch)} keys={Bytes.Hex(keys)} values={Bytes.Hex(values)}";
                }

                case OpKind.UpdateBatch:
                {
                    var keys = new byte[op.Count * ks];
                    var values = new byte[op.Count * vs];
                    for (int i = 0; i < op.Count; i++)
                    {
                        KeyBytes(c, op.Key + i).CopyTo(keys, i * ks);
                        Value(op.Value + i).CopyTo(values, i * vs);
                    }

                    uint count = (uint)op.Count;
                    int err = m.UpdateBatch(keys, values, ref count, op.Flags, 0);
                    return $"{Err.Name(err)} count={count}";
                }

                case OpKind.DeleteBatch:
                {
                    var keys = new byte[op.Count * ks];
                    for (int i = 0; i < op.Count; i++)
                    {
                        KeyBytes(c, op.Key + i).CopyTo(keys, i * ks);
                    }

                    uint count = (uint)op.Count;
                    int err = m.DeleteBatch(keys, ref count, op.Flags, 0);
                    return $"{Err.Name(err)} count={count}";
                }

                case OpKind.Freeze:
                    return Err.Name(m.Freeze());
                default:
                    throw new InvalidOperationException(op.Kind.ToString());
            }
        }

        public string Dump()
        {
            IMapBackend m = Map.Backend;
            var sb = new StringBuilder();
            byte[]? prev = null;
            var next = new byte[Map.KeySize];
            var value = new byte[Map.ValueBufferSize];
            for (int n = 0; n <= Map.MaxEntries + 1; n++)
            {
                int err = m.GetNextKey(prev ?? ReadOnlySpan<byte>.Empty, next);
                if (err != 0)
                {
                    sb.Append(Err.Name(err));
                    break;
                }

                int lerr = m.Lookup(next, value, 0);
                sb.Append(Bytes.Hex(next)).Append('=').Append(lerr == 0 ? Bytes.Hex(value) : Errno.Name(lerr)).Append(' ');
                prev = (byte[])next.Clone();
            }

            return sb.ToString();
        }
    }
}

public sealed class DifferenceException(string message) : Exception(message);

internal static class Err
{
    public static string Name(int errno) => errno == 0 ? "OK" : Errno.Name(errno);
}
