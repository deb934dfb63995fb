using System.Buffers;
using BpfMaps.Btf;
using BpfMaps.Cli.EventPipe;
using BpfMaps.Events;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool's plain <c>map event_pipe</c> text: <c>== @SEC.NSEC CPU: N index: M =====</c> and the data in bpftool's
/// hex layout for each sample, <c>lost N events</c> for a lost report. A ring buffer record's line has no CPU or
/// index (<c>== @SEC.NSEC =====</c>). With <c>--type</c>, the data is bpftool's BTF text instead of hex.
/// </summary>
internal sealed class PlainEventRenderer : IEventRenderer
{
    private readonly Utf8Output _out;
    private readonly BtfFormatter? _type;
    private readonly ArrayBufferWriter<byte> _text = new(256);
    private byte[] _hex = new byte[Hex.GroupedLength(64)];

    /// <summary>Creates the renderer.</summary>
    /// <param name="stdout">Where to write.</param>
    /// <param name="type">The BTF type of the records, or null.</param>
    public PlainEventRenderer(Stream stdout, BtfFormatter? type)
    {
        _out = new Utf8Output(stdout);
        _type = type;
    }

    /// <inheritdoc />
    public void Begin()
    {
    }

    /// <inheritdoc />
    public void Sample(in EventRecord record)
    {
        _out.Write("== @"u8);
        EventRenderers.WriteTime(_out, record.Timestamp);
        if (record.IsPerf)
        {
            _out.Write(" CPU: "u8);
            _out.Number(record.Cpu);
            _out.Write(" index: "u8);
            _out.Number(record.Index);
        }

        _out.Write(" =====\n"u8);
        if (_type is not null && record.Data.Length >= _type.Reach)
        {
            _text.ResetWrittenCount();
            var sink = new BtfTextSink(_text);
            _type.Write(ref sink, record.Data);
            sink.End();
            _out.Write(_text.WrittenSpan);
            return;
        }

        int need = Hex.GroupedLength(record.Data.Length);
        if (_hex.Length < need)
        {
            _hex = new byte[need];
        }

        _out.Write(_hex.AsSpan(0, Hex.WriteGrouped(record.Data, _hex)));
        _out.Write((byte)'\n');
    }

    /// <inheritdoc />
    public void Lost(int cpu, int index, ulong eventId, ulong count)
    {
        _out.Write("lost "u8);
        _out.Number(count);
        _out.Write(" events\n"u8);
    }

    /// <inheritdoc />
    public void Flush() => _out.Flush();

    /// <inheritdoc />
    public void End() => _out.Flush();
}
