using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace BpfMaps.Btf;

/// <summary>
/// A member, variable, section or enumerator name encoded once, when a <see cref="BtfFormatter"/> is
/// compiled, in every form the sinks write it: raw UTF-8, a JSON string with its quotes, and a
/// <see cref="JsonEncodedText"/> for <see cref="Utf8JsonWriter"/>.
/// </summary>
public sealed class BtfName
{
    private static readonly JavaScriptEncoder s_encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>Encodes <paramref name="text"/>.</summary>
    /// <param name="text">The name (empty for anonymous members).</param>
    public BtfName(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
        Utf8 = Encoding.UTF8.GetBytes(text);
        Encoded = JsonEncodedText.Encode(text, s_encoder);
        byte[] escaped = Encoded.EncodedUtf8Bytes.ToArray();
        Quoted = new byte[escaped.Length + 2];
        Quoted[0] = (byte)'"';
        escaped.CopyTo(Quoted, 1);
        Quoted[^1] = (byte)'"';
        // Padded by 16 bytes, so that a sink may copy it in whole 16-byte words.
        MemberLength = Quoted.Length + 2;
        MemberToken = new byte[MemberLength + 16];
        MemberToken[0] = (byte)',';
        Quoted.CopyTo(MemberToken, 1);
        MemberToken[MemberLength - 1] = (byte)':';
    }

    /// <summary>The name.</summary>
    public string Text { get; }

    /// <summary>The name's UTF-8 bytes.</summary>
    public byte[] Utf8 { get; }

    /// <summary>The name as a JSON string, quotes included.</summary>
    public byte[] Quoted { get; }

    /// <summary>
    /// The name as a compact JSON member name after a comma, <c>,"name":</c> (without its first byte, the first
    /// member's), in its first <see cref="MemberLength"/> bytes, then 16 bytes of padding.
    /// </summary>
    internal byte[] MemberToken { get; }

    /// <summary>Bytes of <c>,"name":</c> in <see cref="MemberToken"/>.</summary>
    internal int MemberLength { get; }

    /// <summary>The name for <see cref="Utf8JsonWriter"/>.</summary>
    public JsonEncodedText Encoded { get; }

    /// <inheritdoc />
    public override string ToString() => Text;
}
