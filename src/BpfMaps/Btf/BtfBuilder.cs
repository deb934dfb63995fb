using System.Buffers.Binary;
using System.Text;

namespace BpfMaps.Btf;

/// <summary>
/// Builds a minimal raw BTF blob: integers and structs, enough to describe map keys and values
/// (including a <c>struct bpf_spin_lock</c> member, which BPF_F_LOCK needs).
/// </summary>
public sealed class BtfBuilder
{
    private const int KindInt = 1;
    private const int KindStruct = 4;
    private readonly List<byte> _types = [];
    private readonly List<byte> _strings = [0];
    private readonly Dictionary<string, uint> _stringOffsets = new(StringComparer.Ordinal) { [""] = 0 };
    private uint _nextId = 1;

    /// <summary>Adds an integer type.</summary>
    /// <param name="name">The type name, e.g. <c>int</c>.</param>
    /// <param name="sizeBytes">1, 2, 4, 8 or 16.</param>
    /// <param name="isSigned">Whether it is signed.</param>
    /// <returns>The new type id.</returns>
    public uint AddInt(string name, int sizeBytes, bool isSigned)
    {
        Put(Str(name));
        Put((uint)KindInt << 24);
        Put((uint)sizeBytes);
        Put(((isSigned ? 1u : 0u) << 24) | (uint)(sizeBytes * 8));
        return _nextId++;
    }

    /// <summary>Adds a struct type.</summary>
    /// <param name="name">The struct name (<c>bpf_spin_lock</c> for the lock).</param>
    /// <param name="sizeBytes">The struct size.</param>
    /// <param name="members">Members as (name, type id, byte offset).</param>
    /// <returns>The new type id.</returns>
    public uint AddStruct(string name, int sizeBytes, params (string Name, uint TypeId, int ByteOffset)[] members)
    {
        ArgumentNullException.ThrowIfNull(members);
        Put(Str(name));
        Put(((uint)KindStruct << 24) | (uint)members.Length);
        Put((uint)sizeBytes);
        foreach (var (mName, typeId, offset) in members)
        {
            Put(Str(mName));
            Put(typeId);
            Put((uint)offset * 8);
        }

        return _nextId++;
    }

    /// <summary>The raw blob: header, type section, string section.</summary>
    /// <returns>The bytes to pass to <see cref="BtfObject.Load"/>.</returns>
    public byte[] Build()
    {
        const int hdrLen = 24;
        byte[] blob = new byte[hdrLen + _types.Count + _strings.Count];
        var s = blob.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(s, 0xeB9F);
        s[2] = 1; // version
        s[3] = 0; // flags
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], hdrLen);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)_strings.Count);
        _types.CopyTo(blob, hdrLen);
        _strings.CopyTo(blob, hdrLen + _types.Count);
        return blob;
    }

    private uint Str(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        BpfErrors.ThrowIfContainsNul(s, "name");
        if (_stringOffsets.TryGetValue(s, out uint off))
        {
            return off;
        }

        off = (uint)_strings.Count;
        _strings.AddRange(Encoding.ASCII.GetBytes(s));
        _strings.Add(0);
        _stringOffsets[s] = off;
        return off;
    }

    private void Put(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _types.AddRange(b);
    }
}
