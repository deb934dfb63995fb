using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BpfMaps.Btf;

#pragma warning disable CS0649 // fields only describe layouts; the tests never assign some of them

namespace BpfMaps.Tests.Btf;

// C# types the BTF generator tests describe. Offsets the tests expect are computed from the types
// themselves (Unsafe.ByteOffset on a field reference), not written down by hand.

internal enum Protocol : byte
{
    Tcp = 6,
    Udp = 17,
}

internal enum Verdict
{
    Drop = -1,
    Pass = 1,
}

internal enum Wide : long
{
    Small = -2,
    Huge = 0x1_0000_0000,
}

internal enum WideButSmall : ulong
{
    A = 1,
    B = uint.MaxValue,
}

internal struct FlowKey
{
    public uint SrcAddr;
    public ushort SrcPort;
    public ushort DstPort;
    public Protocol Proto;
}

internal struct Stats
{
    public ulong Packets;
    public ulong Bytes;
}

[InlineArray(4)]
internal struct Ports
{
    private ushort _element0;
}

[InlineArray(8)]
internal struct Bytes8
{
    private byte _element0;
}

[InlineArray(6)]
[BtfString]
internal struct Name6
{
    private byte _element0;
}

internal unsafe struct FlowValue
{
    public Stats Totals;
    [BtfString]
    public fixed byte Comm[16];
    public Ports Recent;
    [BtfString]
    public Bytes8 Label;
    public fixed byte Raw[4];
    public Verdict Verdict;
    public bool Active;
    public char Initial;
    public Name6 Short;
}

internal struct Reading
{
    public int Sensor;
    public float Celsius;
    public double Mean;
    public Half Quick;
}

internal struct AllPrimitives
{
    public byte U8;
    public sbyte S8;
    public short S16;
    public ushort U16;
    public int S32;
    public uint U32;
    public long S64;
    public ulong U64;
    public nint SNative;
    public nuint UNative;
    public Int128 S128;
    public UInt128 U128;
    public bool Flag;
    public char Letter;
    public Half F16;
    public float F32;
    public double F64;
    public Wide Wide;
    public WideButSmall WideButSmall;
}

[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct Overlapping
{
    [FieldOffset(0)]
    public ulong Whole;
    [FieldOffset(0)]
    public uint Low;
    [FieldOffset(4)]
    public uint High;
    [FieldOffset(13)]
    public int Odd;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct Packed
{
    public byte Tag;
    public ulong Value;
    public ushort Tail;
}

[StructLayout(LayoutKind.Sequential, Size = 32)]
internal struct Sized
{
    public int Only;
}

internal readonly record struct Point(int X, long Y);

internal unsafe struct Node
{
    public int Value;
    public Node* Next;
    public void* Opaque;
    public int* Counter;
    public delegate* unmanaged<int, void> Callback;
}

internal struct Pair<TFirst, TSecond>
    where TFirst : unmanaged
    where TSecond : unmanaged
{
    public TFirst First;
    public TSecond Second;
}

internal struct Outer
{
    public Stats A;
    public Stats B;
    public Pair<int, long> P;
}

internal struct Empty
{
}

internal struct WithStringOnInt
{
    [BtfString]
    public int NotAString;
}

internal unsafe struct WithStringOnUShortBuffer
{
    [BtfString]
    public fixed ushort Wide[4];
}
