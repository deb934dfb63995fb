using System.Buffers.Binary;
using System.Text;
using BpfMaps.Asm;
using BpfMaps.Kernel;

namespace BpfMaps.Programs.Tests;

/// <summary>
/// The raw tier's program enumeration: BPF_PROG_GET_NEXT_ID and BPF_PROG_GET_FD_BY_ID, checked
/// against BPF_OBJ_GET_INFO_BY_FD on a program this test loads.
/// </summary>
public class ProgramIdTests : KernelTest
{
    // struct bpf_prog_info: type at 0, id at 4, name[16] at 64 (include/uapi/linux/bpf.h).
    private const int InfoSize = 256;

    private static (uint Type, uint Id, string Name) Info(BpfFd fd)
    {
        Span<byte> info = stackalloc byte[InfoSize];
        int err = BpfSyscall.ObjGetInfoByFd(fd, info, out uint written);
        Assert.Equal(0, err);
        Assert.True(written >= 80, $"the kernel wrote {written} bytes of bpf_prog_info");
        ReadOnlySpan<byte> name = info.Slice(64, 16);
        int end = name.IndexOf((byte)0);
        return (BinaryPrimitives.ReadUInt32LittleEndian(info),
                BinaryPrimitives.ReadUInt32LittleEndian(info[4..]),
                Encoding.ASCII.GetString(end < 0 ? name : name[..end]));
    }

    private static BpfProgram LoadNamed(string name)
        => BpfProgram.Load(ProgramType.SocketFilter, new InstructionBuilder().Mov64(Register.R0, 0).Exit().Build(), "GPL", new ProgramLoadOptions { Name = name });

    private static List<uint> AllProgramIds()
    {
        var ids = new List<uint>();
        uint id = 0;
        while (true)
        {
            int err = BpfSyscall.ProgGetNextId(id, out uint next);
            if (err == Errno.ENOENT)
            {
                return ids;
            }

            Assert.Equal(0, err);
            Assert.True(next > id, $"ids go up: {next} after {id}");
            ids.Add(next);
            id = next;
        }
    }

    [Fact]
    public void Next_id_walk_finds_a_loaded_program_and_fd_by_id_opens_it()
    {
        using BpfProgram p = LoadNamed("idwalk");
        (uint type, uint id, string name) = Info(p.Fd);
        Assert.Equal((uint)ProgramType.SocketFilter, type);
        Assert.Equal("idwalk", name);
        Assert.Contains(id, AllProgramIds());

        Assert.Equal(0, BpfSyscall.ProgGetFdById(id, out BpfFd second));
        using (second)
        {
            Assert.NotEqual(p.Fd.DangerousGetHandle(), second.DangerousGetHandle());
            Assert.Equal((type, id, name), Info(second));
        }
    }

    [Fact]
    public void A_closed_program_leaves_the_id_space()
    {
        uint id;
        using (BpfProgram p = LoadNamed("idgone"))
        {
            id = Info(p.Fd).Id;
        }

        // The last reference goes synchronously from process context, so the id is already free.
        Assert.DoesNotContain(id, AllProgramIds());
        Assert.Equal(Errno.ENOENT, BpfSyscall.ProgGetFdById(id, out BpfFd none));
        Assert.True(none.IsInvalid);
    }

    [Fact]
    public void Unknown_id_is_ENOENT_and_a_start_past_INT_MAX_is_EINVAL()
    {
        Assert.Equal(Errno.ENOENT, BpfSyscall.ProgGetFdById(uint.MaxValue, out BpfFd none));
        Assert.True(none.IsInvalid);

        // Ids are below INT_MAX: nothing follows INT_MAX - 1, and the kernel refuses a start of INT_MAX or more.
        Assert.Equal(Errno.ENOENT, BpfSyscall.ProgGetNextId(int.MaxValue - 1, out _));
        Assert.Equal(Errno.EINVAL, BpfSyscall.ProgGetNextId(int.MaxValue, out _));
        Assert.Equal(Errno.EINVAL, BpfSyscall.ProgGetNextId(uint.MaxValue, out _));
    }
}
