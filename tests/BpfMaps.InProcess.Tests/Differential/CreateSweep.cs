using System.Numerics;
using BpfMaps.InProcess;
using CsCheck;

namespace BpfMaps.InProcess.Tests.Differential;

/// <summary>How a map-in-map case gets its template: none, a matching array, a map-in-map, or one already closed.</summary>
public enum TemplateKind
{
    None,
    Array,
    MapInMap,
    Closed,
}

/// <summary>One BPF_MAP_CREATE spec of the sweep.</summary>
public sealed record CreateCase(MapType Type, int KeySize, int ValueSize, int MaxEntries, MapFlags Flags, uint NumaNode = 0, TemplateKind Template = TemplateKind.None)
{
    public override string ToString()
        => $"new CreateCase((MapType){(uint)Type}, {KeySize}, {ValueSize}, {MaxEntries}, (MapFlags)0x{(uint)Flags:x}, {NumaNode}, TemplateKind.{Template})";
}

/// <summary>
/// Creates one spec with <see cref="BpfMap.Create"/> and <see cref="InProcessMap.Create"/> and compares the
/// outcomes: the created map's sizes and flags, or the errno. Types the engine does not implement must give
/// its documented <see cref="NotSupportedException"/>. Two differences are documented (docs/performance.md)
/// and asserted as such: a spec whose storage the engine would preallocate beyond
/// <see cref="InProcessOptions.MemoryLimit"/> is ENOMEM on the engine where a kernel that allocates lazily
/// accepts it, and BPF_F_TOKEN_FD is EINVAL (descriptor 0 is not a BPF token) where the kernel says EBADF if
/// descriptor 0 is closed. Specs that could make either side allocate more than a little (16 MiB, or 65,536
/// per-CPU values) and less than what no machine has are not run, so the sweep never loads the host.
/// </summary>
public static class CreateSweep
{
    private const long Small = 16L << 20;

    // The kernel allocates each per-CPU value on its own, which takes about a microsecond apiece.
    private const long PerCpuAllocations = 1 << 16;
    private const long Impossible = 1L << 41;
    private const long EngineHuge = 8L << 30;
    private const int KmallocMax = 4 << 20;
    private const int HtabElem = 48;
    private const uint KnownFlags = (1u << 19) - 1;
    private const MapFlags TokenFd = (MapFlags)(1u << 16);

    /// <summary>Every map type value: the named ones, unspecified, and two the kernel does not know.</summary>
    public static readonly MapType[] AllTypes = [.. Enum.GetValues<MapType>(), (MapType)34, (MapType)100];

    public static readonly MapType[] EngineTypes =
        [MapType.Hash, MapType.PerCpuHash, MapType.LruHash, MapType.LruPerCpuHash, MapType.HashOfMaps, MapType.Array, MapType.PerCpuArray, MapType.ArrayOfMaps, MapType.RingBuf, MapType.UserRingBuf];

    // Around the kernel's limits for the base specs (key 4, value 8): key + value must stay below KMALLOC_MAX_SIZE
    // minus struct htab_elem, per-CPU values at most PCPU_MIN_UNIT_SIZE after rounding to 8, and u32 products.
    private static readonly int[] KeySizes = [0, 1, 3, 4, 5, 8, 64, 512, 4096, KmallocMax - HtabElem - 9, KmallocMax - HtabElem - 8, int.MaxValue];

    private static readonly int[] ValueSizes =
        [0, 1, 4, 7, 8, 32760, 32761, 32768, 32769, 65536, 1 << 20, KmallocMax - HtabElem - 5, KmallocMax - HtabElem - 4, KmallocMax, int.MaxValue - 7, int.MaxValue];

    private static readonly int[] MaxEntries = [0, 1, 2, 3, 63, 64, 65, 1 << 20, 1 << 21, 1 << 27, (1 << 27) + 1, 1 << 30, int.MaxValue];

    /// <summary>Runs the spec on both backends and compares; false when it was too large to run here.</summary>
    /// <exception cref="DifferenceException">The outcomes differ, and not in a documented way.</exception>
    public static bool Run(CreateCase c)
    {
        int cpus = PossibleCpus.Count;
        bool implemented = EngineTypes.Contains(c.Type);
        if ((implemented && EngineBytes(c, cpus) is > Small and < EngineHuge) || (c.NumaNode == 1 && Directory.Exists("/sys/devices/system/node/node1")))
        {
            return false;
        }

        string engine = Outcome(Backend.InProcess, c);
        if (!implemented && Enum.IsDefined(c.Type) && c.Type != MapType.Unspecified)
        {
            if (engine != "NotSupportedException")
            {
                throw new DifferenceException($"{c}: the engine does not implement {c.Type}, but gave {engine}, not its NotSupportedException");
            }

            return true;
        }

        if (!KernelSafe(c, cpus))
        {
            return false;
        }

        string kernel = Outcome(Backend.Kernel, c);
        if (kernel == engine)
        {
            return true;
        }

        // Documented: the engine preallocates, also with BPF_F_NO_PREALLOC, so it refuses what it cannot hold.
        if (engine == "ENOMEM" && kernel.StartsWith("OK", StringComparison.Ordinal) && EngineBytes(c, cpus) >= EngineHuge)
        {
            return true;
        }

        // Documented: descriptor 0 stands for map_token_fd; the kernel finds it closed (EBADF) or not a token (EINVAL).
        if ((c.Flags & TokenFd) != 0 && engine == "EINVAL" && kernel == "EBADF" && !Path.Exists("/proc/self/fd/0"))
        {
            return true;
        }

        throw new DifferenceException($"create {c}:\n  kernel:     {kernel}\n  in-process: {engine}");
    }

    private static string Outcome(Backend backend, CreateCase c)
    {
        BpfMap? template = null;
        try
        {
            template = CreateTemplate(backend, c.Template);
            var spec = new MapSpec
            {
                Type = c.Type, KeySize = c.KeySize, ValueSize = c.ValueSize, MaxEntries = c.MaxEntries, Flags = c.Flags,
                NumaNode = c.NumaNode, InnerMap = template,
            };
            using BpfMap map = Backends.Create(backend, spec);
            return $"OK key {map.KeySize} value {map.ValueSize} max {map.MaxEntries} buf {map.ValueBufferSize} flags 0x{(uint)map.Info.Flags:x}";
        }
        catch (BpfNotSupportedException e)
        {
            return Err.Name(e.Errno);
        }
        catch (BpfException e)
        {
            return Err.Name(e.Errno);
        }
        catch (NotSupportedException)
        {
            return "NotSupportedException";
        }
        catch (ArgumentException)
        {
            return "ArgumentException";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"threw {e.GetType().Name}";
        }
        finally
        {
            template?.Dispose();
        }
    }

    private static BpfMap? CreateTemplate(Backend backend, TemplateKind kind)
    {
        var array = new MapSpec { Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4 };
        switch (kind)
        {
            case TemplateKind.Array:
                return Backends.Create(backend, array);
            case TemplateKind.Closed:
            {
                BpfMap m = Backends.Create(backend, array);
                m.Dispose();
                return m;
            }

            case TemplateKind.MapInMap:
            {
                using BpfMap inner = Backends.Create(backend, array);
                return Backends.Create(backend, new MapSpec { Type = MapType.ArrayOfMaps, KeySize = 4, ValueSize = 4, MaxEntries = 1, InnerMap = inner });
            }

            default:
                return null;
        }
    }

    private static long R8(long n) => (n + 7) & ~7L;

    private static bool IsHash(MapType t) => t is MapType.Hash or MapType.PerCpuHash or MapType.LruHash or MapType.LruPerCpuHash or MapType.HashOfMaps;

    private static bool IsArray(MapType t) => t is MapType.Array or MapType.PerCpuArray or MapType.ArrayOfMaps;

    /// <summary>
    /// Whether BPF_MAP_CREATE refuses the spec before allocating anything, by the checks of map_create and the
    /// types' map_alloc_check that cost nothing to model. Used only to keep the host safe: a wrong answer
    /// here makes the sweep skip a case or costs one large allocation, it decides no expectation.
    /// </summary>
    private static bool RefusedEarly(CreateCase c)
    {
        uint f = (uint)c.Flags & ~(uint)TokenFd;
        if ((f & ~KnownFlags) != 0 || (f & 0x18) == 0x18 || !Enum.IsDefined(c.Type) || c.Type == MapType.Unspecified)
        {
            return true;
        }

        if (IsHash(c.Type))
        {
            return c.KeySize == 0 || c.ValueSize == 0 || c.MaxEntries == 0 || (long)c.KeySize + c.ValueSize >= KmallocMax - HtabElem
                || (c.Type.IsPerCpu() && R8(c.ValueSize) > 32768) || MaxAfterLru(c) > 1L << 27;
        }

        if (IsArray(c.Type))
        {
            return c.KeySize != 4 || c.ValueSize == 0 || c.MaxEntries == 0 || (c.Type.IsPerCpu() && R8(c.ValueSize) > 32768);
        }

        return false;
    }

    private static long MaxAfterLru(CreateCase c)
        => (c.Flags & MapFlags.NoCommonLru) != 0 ? (c.MaxEntries + (long)PossibleCpus.Count - 1) / PossibleCpus.Count * PossibleCpus.Count : c.MaxEntries;

    /// <summary>The largest allocations the kernel may make for the spec: buckets, elements, per-CPU values.</summary>
    private static bool KernelSafe(CreateCase c, int cpus)
    {
        if (RefusedEarly(c))
        {
            return true;
        }

        long max = MaxAfterLru(c);
        if (IsHash(c.Type))
        {
            bool prealloc = (c.Flags & MapFlags.NoPrealloc) == 0;
            long buckets = (long)BitOperations.RoundUpToPowerOf2((ulong)max) * 16;
            long elems = prealloc ? max * (HtabElem + R8(c.KeySize) + (c.Type.IsPerCpu() ? 8 : R8(c.ValueSize))) : 0;
            long percpu = prealloc && c.Type.IsPerCpu() ? max * R8(c.ValueSize) * cpus : 0;
            return buckets <= Small && percpu <= Small && (percpu == 0 || max <= PerCpuAllocations) && (elems <= Small || elems >= Impossible);
        }

        if (IsArray(c.Type))
        {
            return c.Type.IsPerCpu()
                ? max <= PerCpuAllocations && max * R8(c.ValueSize) * cpus <= Small
                : max * R8(c.ValueSize) is <= Small or >= Impossible;
        }

        if (c.Type is MapType.RingBuf or MapType.UserRingBuf)
        {
            // The data area is max_entries bytes, when max_entries is a page-aligned power of two.
            return !RingSizeValid(max) || max <= Small;
        }

        // Types the engine does not implement: whatever they preallocate stays small.
        return max * (R8(c.KeySize) + R8(c.ValueSize) + 64) * cpus <= Small;
    }

    private static bool RingSizeValid(long max) => max >= Environment.SystemPageSize && (max & (max - 1)) == 0;

    /// <summary>About what the engine allocates for the spec, within a factor of two.</summary>
    private static long EngineBytes(CreateCase c, int cpus)
    {
        if (RefusedEarly(c))
        {
            return 0;
        }

        long max = MaxAfterLru(c);
        if (c.Type is MapType.RingBuf or MapType.UserRingBuf)
        {
            // The data area (max_entries bytes, mapped twice from one memfd), only for a size both sides take.
            return RingSizeValid(max) ? max : 0;
        }

        long value = c.Type.IsPerCpu() ? R8(c.ValueSize) * cpus : R8(c.ValueSize);
        return IsArray(c.Type) ? max * value : max * (R8(c.KeySize) + value + 16) * 2;
    }

    /// <summary>Every flag bit alone and every pair of the bits this kernel defines, on a valid base spec of each type.</summary>
    public static IEnumerable<CreateCase> FlagSweep()
    {
        foreach (MapType t in AllTypes)
        {
            CreateCase b = Base(t);
            bool pairs = EngineTypes.Contains(t) || !Enum.IsDefined(t) || t == MapType.Unspecified;
            for (int i = 0; i < 32; i++)
            {
                yield return b with { Flags = (MapFlags)(1u << i) };
                if (IsHash(t))
                {
                    yield return b with { Flags = MapFlags.ZeroSeed | (MapFlags)(1u << i) };
                }

                for (int j = i + 1; pairs && j < 19; j++)
                {
                    yield return b with { Flags = (MapFlags)((1u << i) | (1u << j)) };
                }
            }

            yield return b with { Flags = MapFlags.NumaNode, NumaNode = 0 };
            yield return b with { Flags = MapFlags.NumaNode, NumaNode = 4096 };
            yield return b with { Flags = MapFlags.None, NumaNode = 4096 };
            if (!Directory.Exists("/sys/devices/system/node/node1"))
            {
                yield return b with { Flags = MapFlags.NumaNode, NumaNode = 1 };
            }
        }
    }

    /// <summary>Each size at and around the kernel's limits, one dimension at a time, with the flags that change them.</summary>
    public static IEnumerable<CreateCase> SizeSweep()
    {
        MapFlags[] flagSets = [MapFlags.None, MapFlags.NoPrealloc, MapFlags.NoCommonLru, MapFlags.ZeroSeed | MapFlags.NoPrealloc, MapFlags.Mmapable, MapFlags.InnerMap, TokenFd];
        foreach (MapType t in AllTypes)
        {
            CreateCase b = Base(t);
            bool deep = EngineTypes.Contains(t);
            foreach (MapFlags f in deep ? flagSets : [MapFlags.None])
            {
                foreach (int k in KeySizes)
                {
                    yield return b with { KeySize = k, Flags = f };
                }

                foreach (int v in ValueSizes)
                {
                    yield return b with { ValueSize = v, Flags = f };
                    yield return b with { ValueSize = v, MaxEntries = 1 << 20, Flags = f };
                    yield return b with { ValueSize = v, MaxEntries = int.MaxValue, Flags = f };
                }

                foreach (int m in MaxEntries)
                {
                    yield return b with { MaxEntries = m, Flags = f };
                    yield return b with { MaxEntries = m, KeySize = 0, Flags = f };
                }
            }

            if (t.IsMapInMap())
            {
                foreach (TemplateKind kind in Enum.GetValues<TemplateKind>())
                {
                    yield return b with { Template = kind };
                    yield return b with { Template = kind, ValueSize = 8 };
                    yield return b with { Template = kind, MaxEntries = (1 << 27) + 1 };
                }
            }
        }
    }

    private static CreateCase Base(MapType t) => t switch
    {
        MapType.HashOfMaps or MapType.ArrayOfMaps => new CreateCase(t, 4, 4, 4, MapFlags.None, Template: TemplateKind.Array),
        _ => new CreateCase(t, 4, 8, 4, MapFlags.None),
    };

    /// <summary>Random specs over the same values, for soaks: any type, sizes from the boundary lists, up to three flag bits.</summary>
    public static Gen<CreateCase> Random()
    {
        Gen<MapType> type = Gen.Frequency((6, Gen.OneOf(EngineTypes)), (1, Gen.OneOf(AllTypes)));
        Gen<int> key = Gen.Frequency((6, Gen.OneOf(KeySizes)), (2, Gen.Int[0, 64]));
        Gen<int> value = Gen.Frequency((6, Gen.OneOf(ValueSizes)), (2, Gen.Int[0, 64]));
        Gen<int> max = Gen.Frequency((6, Gen.OneOf(MaxEntries)), (2, Gen.Int[0, 300]));
        Gen<MapFlags> bit = Gen.Frequency((8, Gen.Int[0, 18].Select(i => (MapFlags)(1u << i))), (1, Gen.Int[19, 31].Select(i => (MapFlags)(1u << i))));
        Gen<MapFlags> flags = Gen.Frequency((4, Gen.Const(MapFlags.None)), (6, bit), (4, Gen.Select(bit, bit, (a, b) => a | b)), (1, Gen.Select(bit, bit, bit, (a, b, d) => a | b | d)));
        Gen<TemplateKind> template = Gen.Frequency((8, Gen.Const(TemplateKind.Array)), (1, Gen.Enum<TemplateKind>()));
        return Gen.Select(type, key, value, max, flags, template, Gen.Frequency((20, Gen.Const(0u)), (1, Gen.OneOf(1u, 4096u))))
            .Select((t, k, v, m, f, tpl, numa) => new CreateCase(t, t.IsArray() && k != 0 && k % 3 != 0 ? 4 : k, t.IsMapInMap() && v % 2 == 0 ? 4 : v, m, f, numa,
                t.IsMapInMap() ? tpl : TemplateKind.None));
    }
}
