using BpfMaps.Interop;
using BpfMaps.Kernel;

namespace BpfMaps.Btf;

/// <summary>A BTF object loaded into the kernel (BPF_BTF_LOAD, 4.18), describing map key and value types.</summary>
public sealed class BtfObject : IDisposable
{
    private BtfObject(BpfFd fd) => Fd = fd;

    /// <summary>The BTF object's descriptor.</summary>
    public BpfFd Fd { get; }

    /// <summary>Loads a raw BTF blob (header, types, strings).</summary>
    /// <param name="blob">The BTF bytes, e.g. from <see cref="BtfBuilder.Build"/>.</param>
    /// <returns>The loaded object.</returns>
    /// <exception cref="BpfException">The kernel rejected the blob; the message carries the kernel's BTF log.</exception>
    public static unsafe BtfObject Load(ReadOnlySpan<byte> blob)
    {
        byte[] log = new byte[64 * 1024];
        fixed (byte* b = blob)
        fixed (byte* l = log)
        {
            var attr = new BtfLoadAttr
            {
                btf = (ulong)b,
                btf_size = (uint)blob.Length,
                btf_log_buf = (ulong)l,
                btf_log_size = (uint)log.Length,
                btf_log_level = 1,
            };
            int err = BpfSyscall.BtfLoad(ref attr, out BpfFd fd);
            if (err != 0)
            {
                fd.Dispose();
                int len = Array.IndexOf(log, (byte)0);
                string text = System.Text.Encoding.UTF8.GetString(log, 0, len < 0 ? log.Length : len).Trim();
                throw new BpfException(err, BpfCommand.BPF_BTF_LOAD, text.Length == 0 ? BpfErrors.DefaultHint(err, BpfCommand.BPF_BTF_LOAD) : text.ReplaceLineEndings(" | "));
            }

            return new BtfObject(fd);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Fd.Dispose();
}
