using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Kernel;

namespace BpfMaps.InProcess.Engine;

/// <summary>
/// array, percpu_array and array_of_maps: <c>max_entries</c> slots that always exist (u32 index
/// keys), no delete (except clearing a map-in-map slot), and the generic batch code with the previous
/// key as the cursor. Each slot has a sequence counter that writers hold odd while copying, so
/// lookups never see a half-written value (the kernel does not promise that much).
/// </summary>
/// <remarks>
/// An array created with BPF_F_MMAPABLE keeps its elements round_up(value_size, 8) bytes apart in pinned memory
/// rounded up to pages, as the kernel does, and hands views of it out as the kernel's mmap does: writable only
/// while the map is not frozen, and a writable view keeps it from being frozen.
/// </remarks>
internal sealed class ArrayTable : MapCore, IMappableCore
{
    private readonly byte[] _data;
    private readonly int[] _seq;
    private readonly int _stride;
    private readonly uint _max;
    private readonly bool _fd;
    private readonly bool _percpu;
    private readonly int _cpuStride;
    private readonly int _valueBytes;
    private readonly bool _mmapable;
    private int _writableMappings;

    public ArrayTable(MapInfo info, int cpus, int valueBufferSize)
        : base(info, cpus, valueBufferSize)
    {
        _max = (uint)info.MaxEntries;
        _mmapable = info.Type == MapType.Array && (info.Flags & MapFlags.Mmapable) != 0;
        _valueBytes = valueBufferSize;
        _stride = _mmapable ? PossibleCpus.Stride(valueBufferSize) : valueBufferSize;
        long bytes = (long)_stride * _max;
        if (_mmapable)
        {
            long page = Environment.SystemPageSize;
            bytes = (bytes + page - 1) / page * page;
        }

        if (bytes > Array.MaxLength)
        {
            throw BpfErrors.Create(Errno.ENOMEM, BpfCommand.BPF_MAP_CREATE, info.Type);
        }

        // Pinned, so views handed out as spans over raw memory stay where they are.
        _data = _mmapable ? GC.AllocateArray<byte>((int)bytes, pinned: true) : new byte[bytes];
        _seq = new int[_max];
        _fd = info.Type == MapType.ArrayOfMaps;
        _percpu = info.Type == MapType.PerCpuArray;
        _cpuStride = PossibleCpus.Stride(info.ValueSize);
    }

    /// <summary>The bytes an array of these sizes allocates: the values and a sequence counter per slot.</summary>
    public static long StorageBytes(int valueBufferSize, int maxEntries) => ((long)valueBufferSize + sizeof(int)) * maxEntries;

    private Span<byte> Slot(uint index) => _data.AsSpan((int)(index * (ulong)_stride), _valueBytes);

    protected override bool HasWritableMappings => Volatile.Read(ref _writableMappings) > 0;

    /// <summary>array_map_mmap: views of the elements; EINVAL without BPF_F_MMAPABLE, ENOTSUPP for per-CPU and map-in-map arrays.</summary>
    public int MapMemory(long offset, long length, bool writable, out Kernel.MappedRegion? region)
    {
        region = null;
        if (!_mmapable)
        {
            return Info.Type == MapType.Array ? Errno.EINVAL : Errno.ENOTSUPP;
        }

        long page = Environment.SystemPageSize;
        if (offset < 0 || length <= 0 || offset % page != 0 || (offset + length + page - 1) / page * page > _data.Length)
        {
            return Errno.EINVAL;
        }

        lock (FreezeGate)
        {
            if (writable)
            {
                if (IsFrozen)
                {
                    return Errno.EPERM;
                }

                if ((Info.Flags & MapFlags.ReadOnlyProg) != 0)
                {
                    return Errno.EACCES;
                }

                _writableMappings++;
            }

            region = new PinnedRegion(_data, (int)offset, (int)length, writable, writable ? () => Interlocked.Decrement(ref _writableMappings) : null);
            return 0;
        }
    }

    /// <summary>Arrays have no poll.</summary>
    public int OpenPollHandle(out SafeHandle? handle)
    {
        handle = null;
        return Errno.ENOTSUPP;
    }

    private int Lock(uint index) => Seqlock.Lock(ref _seq[index]);

    private void Unlock(uint index, int locked) => Seqlock.Unlock(ref _seq[index], locked);

    private static uint Index(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32LittleEndian(key);

    protected override int LookupElem(ReadOnlySpan<byte> key, Span<byte> value)
    {
        uint index = Index(key);
        if (index >= _max)
        {
            return Errno.ENOENT;
        }

        var read = new SlotRead(this, index, value);
        Seqlock.Read(ref _seq[index], ref read);
        return read.Empty ? Errno.ENOENT : 0;
    }

    /// <summary>Copies a slot's value out; an empty map-in-map slot (id 0) is not copied.</summary>
    private ref struct SlotRead(ArrayTable table, uint index, Span<byte> value) : ISeqlockReader
    {
        private readonly Span<byte> _value = value;

        public bool Empty;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryRead()
        {
            Span<byte> slot = table.Slot(index);
            Empty = table._fd && BinaryPrimitives.ReadUInt32LittleEndian(slot) == 0;
            if (!Empty)
            {
                slot.CopyTo(_value);
            }

            return true;
        }
    }

    protected override int UpdateElem(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        uint index = Index(key);
        if (_fd)
        {
            // bpf_fd_array_map_update_elem: only BPF_ANY, then the index, then the fd.
            if (flags != 0)
            {
                return Errno.EINVAL;
            }

            if (index >= _max)
            {
                return Errno.E2BIG;
            }

            int err = AcquireInner(value, out uint id);
            if (err != 0)
            {
                return err;
            }

            int l = Lock(index);
            Span<byte> slot = Slot(index);
            uint old = BinaryPrimitives.ReadUInt32LittleEndian(slot);
            BinaryPrimitives.WriteUInt32LittleEndian(slot, id);
            Unlock(index, l);
            if (old != 0)
            {
                ObjectTable.Release(old);
            }

            return 0;
        }

        if (HasUnknownUpdateFlags(flags))
        {
            return Errno.EINVAL;
        }

        if (index >= _max)
        {
            return Errno.E2BIG;
        }

        // Every element of an array always exists.
        int exist = CheckExistFlags(exists: true, flags);
        if (exist != 0)
        {
            return exist;
        }

        int locked = Lock(index);
        value.CopyTo(Slot(index));
        Unlock(index, locked);
        return 0;
    }

    protected override int DeleteElem(ReadOnlySpan<byte> key)
    {
        if (!_fd)
        {
            return Errno.EINVAL;
        }

        uint index = Index(key);
        if (index >= _max)
        {
            return Errno.E2BIG;
        }

        int locked = Lock(index);
        Span<byte> slot = Slot(index);
        uint old = BinaryPrimitives.ReadUInt32LittleEndian(slot);
        slot.Clear();
        Unlock(index, locked);
        if (old == 0)
        {
            return Errno.ENOENT;
        }

        ObjectTable.Release(old);
        return 0;
    }

    protected override int GetNextKeyElem(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        uint index = key.IsEmpty ? uint.MaxValue : Index(key);
        if (index >= _max)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(nextKey, 0);
            return 0;
        }

        if (index == _max - 1)
        {
            return Errno.ENOENT;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(nextKey, index + 1);
        return 0;
    }

    protected override int LookupBatchOp(bool andDelete, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values, ref uint count, ulong elemFlags, ulong flags)
        => GenericLookupBatch(inBatch, outBatch, keys, values, ref count, elemFlags);

    protected override int AddElem(ReadOnlySpan<byte> key, ulong delta)
    {
        uint index = Index(key);
        if (index >= _max)
        {
            return Errno.E2BIG;
        }

        int offset = _percpu ? Thread.GetCurrentProcessorId() % Cpus * _cpuStride : 0;
        int locked = Lock(index);
        ref byte v = ref Unsafe.Add(ref MemoryMarshal.GetReference(Slot(index)), offset);
        if (Info.ValueSize == 8)
        {
            Unsafe.WriteUnaligned(ref v, Unsafe.ReadUnaligned<ulong>(ref v) + delta);
        }
        else
        {
            Unsafe.WriteUnaligned(ref v, Unsafe.ReadUnaligned<uint>(ref v) + (uint)delta);
        }

        Unlock(index, locked);
        return 0;
    }

    protected override void ReleaseInnerMaps()
    {
        if (!_fd)
        {
            return;
        }

        for (uint i = 0; i < _max; i++)
        {
            uint id = BinaryPrimitives.ReadUInt32LittleEndian(Slot(i));
            if (id != 0)
            {
                ObjectTable.Release(id);
            }
        }
    }
}
