using System.Buffers;
using BpfMaps.Btf;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Events;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool's <c>-j map event_pipe</c> JSON: an array of <c>{"type":9,"cpu":N,"index":M,"timestamp":T,"data":[...]}</c>
/// objects for samples (the data as decimal bytes) and <c>{"type":2,"cpu":N,"index":M,"lost":{"id":I,"count":C}}</c> for
/// lost reports, laid out as bpftool's json_writer lays it out (<c>-p</c> too). A ring buffer record is
/// <c>{"timestamp":T,"data":[...]}</c>. With <c>--type</c>, a <c>formatted</c> member follows <c>data</c>, as in bpftool's
/// dumps of maps with BTF. As ndjson, the same objects one per line, with no enclosing array.
/// </summary>
internal sealed class JsonEventRenderer : IEventRenderer
{
    private readonly Utf8Output _out;
    private readonly BpftoolJsonWriter _w;
    private readonly BtfFormatter? _type;
    private readonly bool _lines;
    private readonly ArrayBufferWriter<byte> _formatted = new(256);

    /// <summary>Creates the renderer.</summary>
    /// <param name="stdout">Where to write.</param>
    /// <param name="pretty">bpftool's <c>-p</c> layout.</param>
    /// <param name="type">The BTF type of the records, or null.</param>
    /// <param name="lines">ndjson: one compact object per line, no array.</param>
    public JsonEventRenderer(Stream stdout, bool pretty, BtfFormatter? type, bool lines)
    {
        _out = new Utf8Output(stdout);
        _w = new BpftoolJsonWriter(_out, pretty);
        _type = type;
        _lines = lines;
    }

    /// <inheritdoc />
    public void Begin()
    {
        if (!_lines)
        {
            _w.StartArray();
        }
    }

    /// <inheritdoc />
    public void Sample(in EventRecord record)
    {
        _w.StartObject();
        if (record.IsPerf)
        {
            _w.Field("type"u8, PerfSample.RecordType);
            _w.Field("cpu"u8, (ulong)record.Cpu);
            _w.Field("index"u8, (ulong)record.Index);
        }

        _w.Field("timestamp"u8, record.Timestamp);
        _w.Name("data"u8);
        _w.StartArray();
        foreach (byte b in record.Data)
        {
            _w.Value((ulong)b);
        }

        _w.EndArray();
        if (_type is not null && record.Data.Length >= _type.Reach)
        {
            _formatted.ResetWrittenCount();
            var sink = new BtfJsonSink(_formatted);
            _type.Write(ref sink, record.Data);
            _w.Name("formatted"u8);
            _w.Json(_formatted.WrittenSpan);
        }

        _w.EndObject();
        EndLine();
    }

    /// <inheritdoc />
    public void Lost(int cpu, int index, ulong eventId, ulong count)
    {
        _w.StartObject();
        _w.Field("type"u8, PerfLost.RecordType);
        _w.Field("cpu"u8, (ulong)cpu);
        _w.Field("index"u8, (ulong)index);
        _w.Name("lost"u8);
        _w.StartObject();
        _w.Field("id"u8, eventId);
        _w.Field("count"u8, count);
        _w.EndObject();
        _w.EndObject();
        EndLine();
    }

    /// <inheritdoc />
    public void Flush() => _out.Flush();

    /// <inheritdoc />
    public void End()
    {
        if (!_lines)
        {
            _w.EndArray();
            _w.Finish();
        }
        else
        {
            _out.Flush();
        }
    }

    private void EndLine()
    {
        if (_lines)
        {
            _out.Write((byte)'\n');
            _w.Reset();
        }
    }
}
