using System.Buffers.Binary;
using System.Text;
using BpfMaps.InProcess;

namespace BpfMaps.InProcess.Tests.Differential;

/// <summary>
/// Runs one <see cref="MimProgram"/> on a kernel map-in-map and on an in-process one, with a pool of inner
/// maps on each side. Inner map ids differ between the two (kernel ids against the engine's), so every
/// value read back is shown as the pool index of the inner map it names ("m2"), or as raw hex when it
/// names none. After every step the step's errno and outputs, then a full get_next_key dump, must agree.
/// </summary>
public sealed class MapInMapRunner
{
    private const byte Sentinel = 0xCD;
    private readonly MimConfig _config;
    private readonly Side _kernel;
    private readonly Side _engine;

    private MapInMapRunner(MimConfig config, Side kernel, Side engine)
    {
        _config = config;
        _kernel = kernel;
        _engine = engine;
    }

    /// <summary>Runs the program; throws with the first difference.</summary>
    public static void Run(MimProgram program)
    {
        MimConfig c = program.Config;
        var kernel = new Side(Backend.Kernel);
        var engine = new Side(Backend.InProcess);
        try
        {
            string k = kernel.CreateOuter(c);
            string e = engine.CreateOuter(c);
            if (k != e)
            {
                throw new DifferenceException($"{c} create:\n  kernel:     {k}\n  in-process: {e}");
            }

            if (kernel.Outer is null)
            {
                return;
            }

            var runner = new MapInMapRunner(c, kernel, engine);
            for (int i = 0; i < program.Ops.Length; i++)
            {
                MimOp op = program.Ops[i];
                runner.Compare(i, op.ToString(), kernel.Apply(c, op), engine.Apply(c, op));
                runner.Compare(i, op + " then dump", kernel.Dump(), engine.Dump());
            }
        }
        finally
        {
            kernel.Dispose();
            engine.Dispose();
        }
    }

    private void Compare(int step, string what, string kernel, string engine)
    {
        if (kernel != engine)
        {
            throw new DifferenceException($"{_config} step {step} {what}:\n  kernel:     {kernel}\n  in-process: {engine}");
        }
    }

    public static byte[] KeyBytes(MimConfig c, int key)
    {
        if (c.Outer == MapType.ArrayOfMaps && c.KeySize == 4)
        {
            return Bytes.U32((uint)key);
        }

        // As DiffRunner.KeyBytes: a shared pattern, with the key number in front so short keys stay distinct.
        byte[] k = Bytes.Fill(c.KeySize, key * 7919 + 1);
        if (k.Length > 0)
        {
            k[0] = (byte)key;
        }

        if (k.Length > 1)
        {
            k[1] = (byte)(key >> 8);
        }

        return k;
    }

    private static string Outcome(Exception e) => e switch
    {
        BpfNotSupportedException n => Err.Name(n.Errno),
        BpfException b => Err.Name(b.Errno),
        NotSupportedException => "NotSupportedException",
        ArgumentException => "ArgumentException",
        InvalidOperationException => "InvalidOperationException",
        _ => throw e,
    };

    private sealed class Side(Backend backend) : IDisposable
    {
        private readonly List<PoolMap> _pool = [];
        private readonly byte[] _cursor = new byte[8];
        private bool _haveCursor;

        public BpfMap? Outer { get; private set; }

        private sealed class PoolMap(BpfMap map, uint id)
        {
            public BpfMap Map { get; } = map;

            public uint Id { get; } = id;

            public bool Closed { get; set; }
        }

        private BpfMap Create(MapSpec spec) => Backends.Create(backend, spec);

        /// <summary>Creates the template (pool map 0), then the outer map; the create outcome.</summary>
        public string CreateOuter(MimConfig c)
        {
            BpfMap template = CreateInnerMap(c.Template);
            _pool.Add(new PoolMap(template, template.Id));
            if (c.CloseTemplateFirst)
            {
                template.Dispose();
                _pool[0].Closed = true;
            }

            try
            {
                Outer = Create(new MapSpec { Type = c.Outer, KeySize = c.KeySize, ValueSize = c.ValueSize, MaxEntries = c.MaxEntries, Flags = c.Flags, InnerMap = template });
                return $"OK key {Outer.KeySize} value {Outer.ValueSize} max {Outer.MaxEntries} flags {Outer.Info.Flags}";
            }
            catch (Exception e) when (e is BpfException or NotSupportedException or ArgumentException)
            {
                return Outcome(e);
            }
        }

        private BpfMap CreateInnerMap(InnerVariant v)
        {
            MapSpec spec = MimConfig.InnerSpec(v);
            if (v != InnerVariant.ArrayOfMaps)
            {
                return Create(spec);
            }

            using BpfMap template = Create(MimConfig.InnerSpec(InnerVariant.ArrayA));
            return Create(spec with { InnerMap = template });
        }

        private string Name(ReadOnlySpan<byte> value)
        {
            if (value.Length < 4)
            {
                return Bytes.Hex(value);
            }

            uint v = BinaryPrimitives.ReadUInt32LittleEndian(value);
            if (v == 0xCDCDCDCD)
            {
                return "--";
            }

            int i = _pool.FindIndex(p => p.Id == v);
            return i >= 0 ? $"m{i}" : $"?{v:x8}";
        }

        private string Values(ReadOnlySpan<byte> values)
        {
            var sb = new StringBuilder();
            for (int i = 0; i + 4 <= values.Length; i += 4)
            {
                sb.Append(Name(values.Slice(i, 4))).Append(' ');
            }

            return sb.ToString();
        }

        private static byte[] Filled(int n)
        {
            var b = new byte[n];
            b.AsSpan().Fill(Sentinel);
            return b;
        }

        /// <summary>What names pool map <paramref name="index"/> as a raw value on this side.</summary>
        private uint HandleValue(int index)
        {
            PoolMap p = _pool[index % _pool.Count];
            if (backend == Backend.InProcess)
            {
                return p.Id;
            }

            // A closed kernel descriptor's number may already belong to another file; -1 is never open.
            return p.Closed || p.Map.Handle is null ? uint.MaxValue : (uint)p.Map.Handle.DangerousGetHandle();
        }

        public string Apply(MimConfig c, MimOp op)
        {
            BpfMap outer = Outer!;
            IMapBackend m = outer.Backend;
            int ks = outer.KeySize;
            switch (op.Kind)
            {
                case MimOpKind.CreateInner:
                {
                    BpfMap inner = CreateInnerMap((InnerVariant)op.Inner);
                    _pool.Add(new PoolMap(inner, inner.Id));
                    return $"m{_pool.Count - 1}";
                }

                case MimOpKind.SetInner:
                {
                    PoolMap p = _pool[op.Inner % _pool.Count];
                    return Err.Name(m.UpdateInner(KeyBytes(c, op.Key), p.Map.Backend, op.Flags));
                }

                case MimOpKind.SetSelf:
                    return Err.Name(m.UpdateInner(KeyBytes(c, op.Key), m, op.Flags));
                case MimOpKind.UpdateRaw:
                {
                    byte[] v = Bytes.U32(op.Inner == 0 ? uint.MaxValue : 0x7FFF_FFF0);
                    return Err.Name(m.Update(KeyBytes(c, op.Key), v, op.Flags));
                }

                case MimOpKind.UpdateHandleValue:
                    return Err.Name(m.Update(KeyBytes(c, op.Key), Bytes.U32(HandleValue(op.Inner)), op.Flags));
                case MimOpKind.Lookup:
                {
                    byte[] v = Filled(4);
                    int err = m.Lookup(KeyBytes(c, op.Key), v, op.Flags);
                    return $"{Err.Name(err)} {Name(v)}";
                }

                case MimOpKind.Delete:
                    return Err.Name(m.Delete(KeyBytes(c, op.Key)));
                case MimOpKind.LookupAndDelete:
                {
                    byte[] v = Filled(4);
                    int err = m.LookupAndDelete(KeyBytes(c, op.Key), v, op.Flags);
                    return $"{Err.Name(err)} {Name(v)}";
                }

                case MimOpKind.NextKey:
                {
                    byte[] next = Filled(ks);
                    int err = m.GetNextKey(op.Key < 0 ? ReadOnlySpan<byte>.Empty : KeyBytes(c, op.Key), next);
                    return $"{Err.Name(err)} {Bytes.Hex(next)}";
                }

                case MimOpKind.LookupBatch:
                case MimOpKind.LookupAndDeleteBatch:
                {
                    int cursorSize = Math.Max(ks, 4);
                    byte[] inBatch;
                    if (op.Cursor == -1 || (op.Cursor == -2 && !_haveCursor))
                    {
                        inBatch = [];
                    }
                    else if (op.Cursor == -2)
                    {
                        inBatch = _cursor.AsSpan(0, cursorSize).ToArray();
                    }
                    else
                    {
                        inBatch = new byte[cursorSize];
                        BinaryPrimitives.WriteUInt32LittleEndian(inBatch, (uint)op.Cursor);
                    }

                    byte[] outBatch = Filled(cursorSize);
                    byte[] keys = Filled(op.Count * ks);
                    byte[] values = Filled(op.Count * 4);
                    uint count = (uint)op.Count;
                    int err = m.LookupBatch(op.Kind == MimOpKind.LookupAndDeleteBatch, inBatch, outBatch, keys, values, ref count, op.Flags, 0);
                    if (err is 0 or Errno.ENOENT or Errno.ENOSPC && !outBatch.AsSpan().SequenceEqual(Filled(cursorSize)))
                    {
                        outBatch.CopyTo(_cursor, 0);
                        _haveCursor = true;
                    }

                    return $"{Err.Name(err)} count={count} out={Bytes.Hex(outBatch)} keys={Bytes.Hex(keys)} values={Values(values)}";
                }

                case MimOpKind.UpdateBatch:
                {
                    var keys = new byte[op.Count * ks];
                    var values = new byte[op.Count * 4];
                    for (int i = 0; i < op.Count; i++)
                    {
                        KeyBytes(c, op.Key + i).CopyTo(keys, i * ks);
                        BinaryPrimitives.WriteUInt32LittleEndian(values.AsSpan(i * 4), HandleValue(op.Inner + i));
                    }

                    uint count = (uint)op.Count;
                    int err = m.UpdateBatch(keys, values, ref count, op.Flags, 0);
                    return $"{Err.Name(err)} count={count}";
                }

                case MimOpKind.DeleteBatch:
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

                case MimOpKind.CloseInner:
                {
                    PoolMap p = _pool[op.Inner % _pool.Count];
                    p.Map.Dispose();
                    p.Closed = true;
                    return "closed";
                }

                case MimOpKind.Drain:
                    return Drain(outer, op);
                case MimOpKind.Freeze:
                    return Err.Name(m.Freeze());
                default:
                    throw new InvalidOperationException(op.Kind.ToString());
            }
        }

        private string Drain(BpfMap outer, MimOp op)
        {
            var options = new DumpOptions
            {
                BatchSize = op.Count,
                ArrayDrain = op.Flags == 1 ? ArrayDrainMode.ReadThenZero : ArrayDrainMode.Refuse,
                Method = op.Flags == 2 ? DumpMethod.GetNextKey : DumpMethod.Auto,
            };
            var sb = new StringBuilder();
            try
            {
                foreach (MapEntry e in outer.Drain(options))
                {
                    sb.Append(Bytes.Hex(e.Key)).Append('=').Append(Name(e.Value)).Append(' ');
                }

                sb.Append("done");
            }
            catch (Exception e) when (e is BpfException or NotSupportedException or ArgumentException or InvalidOperationException)
            {
                sb.Append(Outcome(e));
            }

            return sb.ToString();
        }

        public string Dump()
        {
            BpfMap outer = Outer!;
            IMapBackend m = outer.Backend;
            var sb = new StringBuilder();
            byte[]? prev = null;
            var next = new byte[outer.KeySize];
            var value = new byte[4];
            for (int n = 0; n <= outer.MaxEntries + 1; n++)
            {
                int err = m.GetNextKey(prev ?? ReadOnlySpan<byte>.Empty, next);
                if (err != 0)
                {
                    sb.Append(Err.Name(err));
                    break;
                }

                int lerr = m.Lookup(next, value, 0);
                sb.Append(Bytes.Hex(next)).Append('=').Append(lerr == 0 ? Name(value) : Errno.Name(lerr)).Append(' ');
                prev = (byte[])next.Clone();
            }

            return sb.ToString();
        }

        public void Dispose()
        {
            Outer?.Dispose();
            Outer = null;
            foreach (PoolMap p in _pool)
            {
                p.Map.Dispose();
            }

            _pool.Clear();
        }
    }
}
