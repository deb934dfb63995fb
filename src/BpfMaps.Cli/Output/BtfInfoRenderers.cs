using System.Globalization;
using System.Text;
using BpfMaps.Cli.Inspection;

namespace BpfMaps.Cli.Output;

/// <summary>Writes what <c>btf show</c>/<c>btf list</c> prints about BTF objects, in one format.</summary>
internal interface IBtfInfoRenderer
{
    /// <summary>Writes the objects.</summary>
    /// <param name="objects">The objects, by ascending id.</param>
    /// <param name="single">One object selected by id: bpftool prints an object, not an array.</param>
    void Render(IReadOnlyList<BtfDetails> objects, bool single);
}

/// <summary>bpftool's JSON for <c>btf show</c>: id, size, prog_ids, map_ids, pids (when held), kernel, name (when named).</summary>
/// <param name="output">Where to write.</param>
/// <param name="pretty">bpftool's <c>-p</c> layout.</param>
internal sealed class JsonBtfInfoRenderer(Stream output, bool pretty) : IBtfInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<BtfDetails> objects, bool single)
    {
        var w = new BpftoolJsonWriter(new Utf8Output(output), pretty);
        if (!single)
        {
            w.StartArray();
        }

        foreach (BtfDetails b in objects)
        {
            w.StartObject();
            w.Field("id"u8, b.Info.Id);
            w.Field("size"u8, b.Info.Size);
            w.Name("prog_ids"u8);
            w.StartArray();
            foreach (uint id in b.ProgramIds)
            {
                w.Value(id);
            }

            w.EndArray();
            w.Name("map_ids"u8);
            w.StartArray();
            foreach (uint id in b.MapIds)
            {
                w.Value(id);
            }

            w.EndArray();
            if (b.Holders.Count > 0)
            {
                w.Name("pids"u8);
                w.StartArray();
                foreach (ObjectHolder h in b.Holders)
                {
                    w.StartObject();
                    w.Field("pid"u8, h.Pid);
                    w.Name("comm"u8);
                    w.String(h.Comm);
                    w.EndObject();
                }

                w.EndArray();
            }

            w.Name("kernel"u8);
            w.Value(b.Info.IsKernel);
            if (b.Info.Name.Length > 0)
            {
                w.Name("name"u8);
                w.String(b.Info.Name);
            }

            w.EndObject();
        }

        if (!single)
        {
            w.EndArray();
        }

        w.Finish();
    }
}

/// <summary>
/// bpftool's plain text for <c>btf show</c>:
/// <c>ID: name [vmlinux]  size NB  prog_ids A,B  map_ids C,D</c>, then <c>\tpids comm(pid), ...</c> when held.
/// </summary>
/// <param name="output">Where to write.</param>
internal sealed class PlainBtfInfoRenderer(Stream output) : IBtfInfoRenderer
{
    /// <inheritdoc />
    public void Render(IReadOnlyList<BtfDetails> objects, bool single)
    {
        var sb = new StringBuilder();
        foreach (BtfDetails b in objects)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{b.Info.Id}: ");
            if (b.Info.IsKernel)
            {
                sb.Append(CultureInfo.InvariantCulture, $"name [{b.Info.Name}]  ");
            }
            else if (b.Info.Name.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"name {b.Info.Name}  ");
            }
            else
            {
                sb.Append("name <anon>  ");
            }

            sb.Append(CultureInfo.InvariantCulture, $"size {b.Info.Size}B");
            if (b.ProgramIds.Count > 0)
            {
                sb.Append("  prog_ids ").AppendJoin(',', b.ProgramIds);
            }

            if (b.MapIds.Count > 0)
            {
                sb.Append("  map_ids ").AppendJoin(',', b.MapIds);
            }

            if (b.Holders.Count > 0)
            {
                sb.Append("\n\tpids ").AppendJoin(", ", b.Holders.Select(h => string.Create(CultureInfo.InvariantCulture, $"{h.Comm}({h.Pid})")));
            }

            sb.Append('\n');
        }

        output.Write(Encoding.UTF8.GetBytes(sb.ToString()));
        output.Flush();
    }
}
