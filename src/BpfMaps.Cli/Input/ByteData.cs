using System.Globalization;
using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Input;

/// <summary>
/// Parses DATA the way bpftool users write it: <c>hex</c> followed by hex bytes (<c>hex 01 ff</c>),
/// or bytes in C notation, each word one byte (<c>0x01 255 017</c>: hex, decimal, octal).
/// Exactly as many words as the map needs are read; the caller learns the size from the map.
/// </summary>
internal static class ByteData
{
    /// <summary>Reads <paramref name="size"/> bytes of DATA from <paramref name="words"/>.</summary>
    /// <param name="words">The words, positioned after <c>key</c> or <c>value</c>.</param>
    /// <param name="what">"key" or "value", for messages.</param>
    /// <param name="size">The number of bytes the map expects.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadData"/> for a word that is not a byte;
    /// <see cref="ExitCode.SizeMismatch"/> for too few or too many bytes.</exception>
    public static byte[] Read(Words words, string what, int size)
    {
        bool hex = words.TryKeyword("hex");
        var bytes = new byte[size];
        int n = 0;
        while (n < size)
        {
            string? w = words.Peek;
            if (w is null || Keywords.Contains(w))
            {
                throw new CliException(ExitCode.SizeMismatch, $"{what} has {n} bytes but the map expects {size}");
            }

            bytes[n++] = Parse(w, hex, what);
            words.Next(what);
        }

        // A number right after the expected bytes means the caller typed too many.
        int extra = 0;
        while (words.Peek is { } w && (hex ? IsHex(w) : LooksNumeric(w)))
        {
            extra++;
            words.Next(what);
        }

        if (extra > 0)
        {
            throw new CliException(ExitCode.SizeMismatch, $"{what} has {size + extra} bytes but the map expects {size}");
        }

        return bytes;
    }

    /// <summary>Parses one word as a byte.</summary>
    /// <param name="word">The word.</param>
    /// <param name="hex">Whether the <c>hex</c> keyword came first (bare hex digits).</param>
    /// <param name="what">"key" or "value", for messages.</param>
    /// <returns>The byte.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadData"/>.</exception>
    public static byte Parse(string word, bool hex, string what)
    {
        ulong v = 0;
        bool ok;
        if (hex)
        {
            ok = IsHex(word) && ulong.TryParse(word, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
        }
        else if (word.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            ok = word.Length > 2 && ulong.TryParse(word.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
        }
        else if (word.Length > 1 && word[0] == '0')
        {
            ok = TryOctal(word.AsSpan(1), out v);
        }
        else
        {
            ok = ulong.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        }

        if (!ok)
        {
            throw new CliException(ExitCode.BadData, $"{what}: '{word}' is not a byte (write 0x1f, 31, 037, or 'hex 1f')");
        }

        if (v > 0xff)
        {
            throw new CliException(ExitCode.BadData, $"{what}: '{word}' is larger than a byte (0..255)");
        }

        return (byte)v;
    }

    /// <summary>Parses a hex string such as <c>0a0b</c> or <c>0x0a0b</c> (used by <c>--key-prefix</c>).</summary>
    /// <param name="text">The text; spaces are ignored.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="CliException"><see cref="ExitCode.BadData"/>.</exception>
    public static byte[] ParseHexString(string text)
    {
        string s = text.Replace(" ", "", StringComparison.Ordinal);
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            s = s[2..];
        }

        if (s.Length % 2 != 0 || !IsHex(s))
        {
            throw new CliException(ExitCode.BadData, $"'{text}' is not an even number of hex digits");
        }

        return Convert.FromHexString(s);
    }

    // Words that end DATA: the next keyword of some command.
    private static readonly HashSet<string> Keywords = ["key", "value", "any", "exist", "noexist", "hex"];

    private static bool LooksNumeric(string w) => w.Length > 0 && char.IsAsciiDigit(w[0]);

    private static bool IsHex(string w)
    {
        if (w.Length == 0)
        {
            return false;
        }

        foreach (char c in w)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryOctal(ReadOnlySpan<char> s, out ulong v)
    {
        v = 0;
        foreach (char c in s)
        {
            if (c is < '0' or > '7' || v > 0xffff)
            {
                return false;
            }

            v = (v * 8) + (ulong)(c - '0');
        }

        return true;
    }
}
