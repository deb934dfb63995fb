using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Hosting;

/// <summary>
/// Standard output with its failures named: a closed descriptor, a full disk or a reader that went
/// away (EPIPE) become an <see cref="OutputWriteException"/>, which the runner reports in one line
/// with its own exit code instead of as an internal error.
/// </summary>
/// <param name="inner">The real stream.</param>
/// <param name="name">What it is, for the message (<c>standard output</c>).</param>
internal sealed class OutputStream(Stream inner, string name) : Stream
{
    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Flush() => Guard(() => inner.Flush());

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Guard(() => inner.Write(buffer, offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            inner.Write(buffer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Named(e);
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                inner.Dispose();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Closing a stream that could not be written says nothing new.
            }
        }

        base.Dispose(disposing);
    }

    private void Guard(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Named(e);
        }
    }

    private OutputWriteException Named(Exception e)
    {
        // .NET reports EBADF on a closed descriptor as UnauthorizedAccessException around an IOException.
        string reason = (e.InnerException as IOException ?? e).Message;
        string hint = reason.Contains("Bad file descriptor", StringComparison.Ordinal) ? " (is it closed?)" : "";
        return new OutputWriteException($"cannot write to {name}: {reason}{hint}", e);
    }
}
