namespace BpfMaps.Btf;

/// <summary>
/// Marks a byte array as a C string for <see cref="BtfTypeGenerator"/>: a <c>fixed byte name[16]</c> buffer,
/// a field whose type is an <see cref="System.Runtime.CompilerServices.InlineArrayAttribute"/> struct of
/// <see cref="byte"/> or <see cref="sbyte"/>, or such an inline array struct itself. Its BTF is then an array
/// of the 1-byte integer named <c>char</c>, which bpftool (and <see cref="BtfFormatter"/>) print as a string
/// when the bytes hold a NUL-terminated printable string. Unmarked byte arrays are <c>unsigned char</c>
/// arrays and print as numbers.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Struct, AllowMultiple = false, Inherited = false)]
public sealed class BtfStringAttribute : Attribute
{
}
