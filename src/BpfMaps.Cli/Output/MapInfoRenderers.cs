using System.Globalization;
using System.Text;
using System.Text.Json;
using BpfMaps.Cli.Inspection;
using Spectre.Console;

namespace BpfMaps.Cli.Output;

/// <summary>Writes what <c>show</c>/<c>list</c> prints about maps, in one format.</summary>
internal interface IMapInfoRenderer
{
    /// <summary>Writes the maps.</summary>
    /// <param name="maps">The maps, by ascending id.</param>
    /// <param name="single">One map selected by id or pin: bpftool prints an object, not an array.</param>
    void Render(IReadOnlyList<MapDetails> maps, bool single);
}

/// <summary>bpftool's JSON for <c>map show</c>.</summary>
/// <param name="output">Where to write.</param>
/// <param name="pretty">Indent.</param>
internal sealed class JsonMapInfoRenderer(Stream output, bool pretty) : IMapInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<MapDetails> maps, bool single)
    {
        using (var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = pretty }))
        {
            if (!single)
            {
                w.WriteStartArray();
            }

            foreach (MapDetails m in maps)
            {
                WriteObject(w, m);
            }

            if (!single)
            {
                w.WriteEndArray();
            }
        }

        output.Write("\n"u8);
        output.Flush();
    }

    /// <summary>Writes one map's object, with bpftool's field names.</summary>
    /// <param name="w">The writer.</param>
    /// <param name="m">The map.</param>
    public static void WriteObject(Utf8JsonWriter w, MapDetails m)
    {
        MapInfo i = m.Info;
        w.WriteStartObject();
        w.WriteNumber("id", i.Id);
        w.WriteString("type", i.Type.KernelName());
        if (i.Name.Length > 0)
        {
            w.WriteString("name", i.Name);
        }

        w.WriteNumber("flags", (uint)i.Flags);
        w.WriteNumber("bytes_key", i.KeySize);
        w.WriteNumber("bytes_value", i.ValueSize);
        w.WriteNumber("max_entries", i.MaxEntries);
        if (m.BytesMemlock is { } memlock)
        {
            w.WriteNumber("bytes_memlock", memlock);
        }

        w.WriteNumber("frozen", m.Frozen ? 1 : 0);
        if (i.BtfId != 0)
        {
            w.WriteNumber("btf_id", i.BtfId);
        }

        if (m.Pinned.Count > 0)
        {
            w.WriteStartArray("pinned");
            foreach (string p in m.Pinned)
            {
                w.WriteStringValue(p);
            }

            w.WriteEndArray();
        }

        if (m.Holders.Count > 0)
        {
            w.WriteStartArray("pids");
            foreach (ObjectHolder h in m.Holders)
            {
                w.WriteStartObject();
                w.WriteNumber("pid", h.Pid);
                w.WriteString("comm", h.Comm);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }
}

/// <summary>One JSON object per map per line.</summary>
/// <param name="output">Where to write.</param>
internal sealed class NdjsonMapInfoRenderer(Stream output) : IMapInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<MapDetails> maps, bool single)
    {
        foreach (MapDetails m in maps)
        {
            using (var w = new Utf8JsonWriter(output))
            {
                JsonMapInfoRenderer.WriteObject(w, m);
            }

            output.Write("\n"u8);
        }

        output.Flush();
    }
}

/// <summary>bpftool's plain text for <c>map show</c>.</summary>
/// <param name="output">Where to write.</param>
internal sealed class PlainMapInfoRenderer(Stream output) : IMapInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<MapDetails> maps, bool single)
    {
        var sb = new StringBuilder();
        foreach (MapDetails m in maps)
        {
            MapInfo i = m.Info;
            sb.Append(CultureInfo.InvariantCulture, $"{i.Id}: {i.Type.KernelName()}  ");
            if (i.Name.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"name {i.Name}  ");
            }

            sb.Append(CultureInfo.InvariantCulture, $"flags 0x{(uint)i.Flags:x}\n");
            sb.Append(CultureInfo.InvariantCulture, $"\tkey {i.KeySize}B  value {i.ValueSize}B  max_entries {i.MaxEntries}");
            if (m.BytesMemlock is { } memlock)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  memlock {memlock}B");
            }

            if (i.BtfId != 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\n\tbtf_id {i.BtfId}");
            }

            sb.Append('\n');
            foreach (string p in m.Pinned)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\tpinned {p}\n");
            }

            if (m.Frozen)
            {
                sb.Append("\tfrozen\n");
            }

            if (m.Holders.Count > 0)
            {
                sb.Append("\tpids ").AppendJoin(", ", m.Holders.Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Comm}({h.Pid})"))).Append('\n');
            }
        }

        output.Write(Encoding.UTF8.GetBytes(sb.ToString()));
        output.Flush();
    }
}

/// <summary>CSV, one row per map.</summary>
/// <param name="output">Where to write.</param>
internal sealed class CsvMapInfoRenderer(Stream output) : IMapInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<MapDetails> maps, bool single)
    {
        var sb = new StringBuilder("id,type,name,flags,bytes_key,bytes_value,max_entries,bytes_memlock,frozen,btf_id,pinned,pids\n");
        foreach (MapDetails m in maps)
        {
            MapInfo i = m.Info;
            sb.Append(CultureInfo.InvariantCulture,
                $"{i.Id},{i.Type.KernelName()},{i.Name},{(uint)i.Flags},{i.KeySize},{i.ValueSize},{i.MaxEntries},{m.BytesMemlock},{(m.Frozen ? 1 : 0)},{i.BtfId},{string.Join(' ', m.Pinned)},{string.Join(' ', m.Holders.Select(h => h.Pid))}\n");
        }

        output.Write(Encoding.UTF8.GetBytes(sb.ToString()));
        output.Flush();
    }
}

/// <summary>A Spectre table, one row per map.</summary>
/// <param name="console">Where to render.</param>
internal sealed class TableMapInfoRenderer(IAnsiConsole console) : IMapInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<MapDetails> maps, bool single)
    {
        var t = new Table().Border(TableBorder.Rounded);
        t.AddColumn(new TableColumn("id").RightAligned());
        t.AddColumn("type");
        t.AddColumn("name");
        t.AddColumn(new TableColumn("key").RightAligned());
        t.AddColumn(new TableColumn("value").RightAligned());
        t.AddColumn(new TableColumn("max_entries").RightAligned());
        t.AddColumn(new TableColumn("memlock").RightAligned());
        t.AddColumn("flags");
        t.AddColumn("pinned / pids");
        foreach (MapDetails m in maps)
        {
            MapInfo i = m.Info;
            string extra = string.Join(" ", m.Pinned.Concat(m.Holders.Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Comm}({h.Pid})"))));
            t.AddRow(
                new Text(i.Id.ToString(CultureInfo.InvariantCulture)),
                new Text(i.Type.KernelName()),
                new Text(i.Name),
                new Text(i.KeySize.ToString(CultureInfo.InvariantCulture)),
                new Text(i.ValueSize.ToString(CultureInfo.InvariantCulture)),
                new Text(i.MaxEntries.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(m.BytesMemlock?.ToString("N0", CultureInfo.InvariantCulture) ?? "-"),
                new Text($"0x{(uint)i.Flags:x}{(m.Frozen ? " frozen" : "")}"),
                new Text(extra));
        }

        t.Caption($"{maps.Count} map{(maps.Count == 1 ? "" : "s")}");
        console.Write(t);
    }
}
