using System.Buffers;
using BpfMaps.Btf;

namespace BpfMaps.Cli.Output;

/// <summary>
/// bpftool's plain output for a map with BTF: its indented JSON-like text, an array of entry objects
/// for a dump (no "Found N elements" line), the bare object for a lookup.
/// </summary>
internal sealed class BtfTextEntryRenderer : IEntryRenderer
{
    private const int FlushAt = 1 << 16;
    private readonly Stream _out;
    private readonly BtfEntryFormatter _btf;
    private readonly bool _single;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushAt * 2);
    private BtfTextSink _sink;

    /// <summary>Creates the renderer.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="btf">The map's BTF formatter.</param>
    /// <param name="single">One entry (lookup) rather than a dump.</param>
    public BtfTextEntryRenderer(Stream output, BtfEntryFormatter btf, bool single)
    {
        _out = output;
        _btf = btf;
        _single = single;
        _sink = new BtfTextSink(_buffer);
    }

    /// <inheritdoc />
    public void Begin()
    {
        if (!_single)
        {
            _sink.StartArray();
        }
    }

    /// <inheritdoc />
    public void Entry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _btf.Write(ref _sink, key, value);
        if (_buffer.WrittenCount > FlushAt)
        {
            Flush();
        }
    }

    /// <inheritdoc />
    public void End(long count)
    {
        if (!_single)
        {
            _sink.EndArray();
        }

        _sink.End();
        Flush();
        _out.Flush();
    }

    /// <inheritdoc />
    public bool Fail(string message)
    {
        // What was read stays readable; the error goes to stderr.
        End(-1);
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private void Flush()
    {
        _out.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
    }
}
