using System.Globalization;
using System.Text.Json;
using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Output;

/// <summary>Renders the answer of <c>getnext</c>.</summary>
internal static class GetNextRenderer
{
    /// <summary>Writes the key and the next key.</summary>
    /// <param name="format">The format.</param>
    /// <param name="console">The console.</param>
    /// <param name="pretty">Indented JSON.</param>
    /// <param name="key">The key asked about, or null for the first.</param>
    /// <param name="next">The next key.</param>
    /// <param name="keyBtf">The key's BTF formatter: JSON then adds a <c>formatted</c> object (bpftool 7.1 prints none for getnext).</param>
    public static void Render(OutputFormat format, CliConsole console, bool pretty, byte[]? key, byte[] next, BpfMaps.Btf.BtfFormatter? keyBtf = null)
    {
        Stream o = console.Stdout;
        switch (format)
        {
            case OutputFormat.Json:
            case OutputFormat.Ndjson:
                using (var w = new Utf8JsonWriter(o, BpftoolJson.Options(pretty && format == OutputFormat.Json)))
                {
                    byte[] scratch = new byte[BpftoolJson.ScratchSize(next.Length)];
                    w.WriteStartObject();
                    w.WritePropertyName("key");
                    if (key is null)
                    {
                        w.WriteNullValue();
                    }
                    else
                    {
                        BpftoolJson.WriteBytes(w, key, scratch);
                    }

                    w.WritePropertyName("next_key");
                    BpftoolJson.WriteBytes(w, next, scratch);
                    if (keyBtf is not null)
                    {
                        var sink = new BpfMaps.Btf.BtfJsonWriterSink(w);
                        w.WritePropertyName("formatted");
                        w.WriteStartObject();
                        w.WritePropertyName("key");
                        if (key is null)
                        {
                            w.WriteNullValue();
                        }
                        else
                        {
                            keyBtf.Write(ref sink, key);
                        }

                        w.WritePropertyName("next_key");
                        keyBtf.Write(ref sink, next);
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                o.Write("\n"u8);
                break;
            case OutputFormat.Csv:
                o.Write(System.Text.Encoding.ASCII.GetBytes($"key,next_key\n{(key is null ? "" : Hex.Compact(key))},{Hex.Compact(next)}\n"));
                break;
            case OutputFormat.Table:
                var grid = new Spectre.Console.Grid().AddColumn().AddColumn();
                grid.AddRow(new Spectre.Console.Text("key"), new Spectre.Console.Text(key is null ? "(none: first key)" : Hex.Spaced(key)));
                grid.AddRow(new Spectre.Console.Text("next key"), new Spectre.Console.Text(Hex.Spaced(next)));
                console.Out.Write(grid);
                break;
            default:
                var sb = new System.Text.StringBuilder();
                sb.Append(key is null ? "key: None\n" : $"key:\n{Grouped(key)}\n");
                sb.Append(CultureInfo.InvariantCulture, $"next key:\n{Grouped(next)}\n");
                o.Write(System.Text.Encoding.ASCII.GetBytes(sb.ToString()));
                break;
        }

        o.Flush();
    }

    private static string Grouped(byte[] b)
    {
        byte[] buf = new byte[Hex.GroupedLength(b.Length)];
        int n = Hex.WriteGrouped(b, buf);
        return System.Text.Encoding.ASCII.GetString(buf, 0, n);
    }
}
