namespace BpfMaps.Cli.Output;

/// <summary>Byte formatting shared by the renderers.</summary>
internal static class Hex
{
    private static readonly byte[] Digits = "0123456789abcdef"u8.ToArray();

    /// <summary>
    /// Writes bytes as bpftool's plain text does: two hex digits each, one space between bytes,
    /// two after every eighth, and a line break after every sixteenth.
    /// </summary>
    /// <param name="bytes">The bytes.</param>
    /// <param name="dest">At least <see cref="GroupedLength"/> bytes.</param>
    /// <returns>Bytes written.</returns>
    public static int WriteGrouped(ReadOnlySpan<byte> bytes, Span<byte> dest)
    {
        int o = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i > 0)
            {
                if (i % 16 == 0)
                {
                    dest[o++] = (byte)'\n';
                }
                else
                {
                    dest[o++] = (byte)' ';
                    if (i % 8 == 0)
                    {
                        dest[o++] = (byte)' ';
                    }
                }
            }

            dest[o++] = Digits[bytes[i] >> 4];
            dest[o++] = Digits[bytes[i] & 0xf];
        }

        return o;
    }

    /// <summary>An upper bound for <see cref="WriteGrouped"/>.</summary>
    /// <param name="n">Byte count.</param>
    /// <returns>Characters needed.</returns>
    public static int GroupedLength(int n) => n * 4;

    /// <summary>Bytes as <c>01 00 00 00</c>.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The text.</returns>
    public static string Spaced(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return "";
        }

        return string.Create(bytes.Length * 3 - 1, bytes.ToArray(), static (span, b) =>
        {
            for (int i = 0; i < b.Length; i++)
            {
                if (i > 0)
                {
                    span[i * 3 - 1] = ' ';
                }

                span[i * 3] = (char)Digits[b[i] >> 4];
                span[i * 3 + 1] = (char)Digits[b[i] & 0xf];
            }
        });
    }

    /// <summary>Bytes as <c>01000000</c>.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The text.</returns>
    public static string Compact(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
