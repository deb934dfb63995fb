using System.Text.Json.Nodes;
using BpfMaps.Features;
using Xunit;

namespace BpfMaps.Tests.Corpus;

/// <summary>
/// The BTF corpus, loaded into the kernel: an xunit assembly or class fixture. On first use it
/// compiles the objects in <c>tests/Corpus/btf</c> (once; unchanged objects are not recompiled),
/// loads each with <c>bpftool prog loadall OBJ ROOT/progs/OBJ pinmaps ROOT/maps/OBJ</c>, and
/// runs every program of every object once on each CPU this process may use, which fills the maps
/// (see <c>corpus.h</c>). Tests reach a map's pin by its logical name (<see cref="CorpusMap.All"/>).
/// Disposal removes ROOT with every pin in it, which frees the maps and programs.
/// </summary>
/// <remarks>
/// A test calls <see cref="Require"/> (or the indexer, which does) first: the test skips when
/// clang-14, the BPF headers, bpftool, taskset, bpf() or bpffs are missing, and fails when they are
/// all there but compiling, loading or filling fails. Nothing happens in the constructor, so an
/// assembly fixture costs nothing in a run that uses no corpus test.
/// </remarks>
public sealed class BtfCorpus : IDisposable
{
    /// <summary>Every corpus directory starts with this, followed by the owning process id.</summary>
    public const string RootPrefix = "/sys/fs/bpf/bpfmaps-corpus-";

    /// <summary>XDP_PASS: what a fill program returns when every update succeeded.</summary>
    private const int FillOk = 2;

    private static readonly Lazy<string?> s_unavailable = new(FindWhyUnavailable);

    private readonly Lazy<IReadOnlyList<int>> _loaded;
    private int _disposed;

    public BtfCorpus()
    {
        Root = $"{RootPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}";
        _loaded = new Lazy<IReadOnlyList<int>>(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The bpffs directory that holds this instance's pins: <c>progs/OBJ/PROG</c> and <c>maps/OBJ/PIN</c>.</summary>
    public string Root { get; }

    /// <summary>Where the compiled objects go: next to the test assembly.</summary>
    public static string ObjectDirectory => Path.Combine(AppContext.BaseDirectory, "Corpus", "obj");

    /// <summary>Every map of the corpus.</summary>
    public IReadOnlyList<CorpusMap> Maps => CorpusMap.All;

    /// <summary>The CPUs the fill programs ran on (per-CPU maps hold values for these; other possible CPUs stay zero).</summary>
    public IReadOnlyList<int> FilledCpus
    {
        get
        {
            Require();
            return _loaded.Value;
        }
    }

    /// <summary>The pinned path of the map with this logical name (e.g. <c>flows/flows</c>); loads the corpus first.</summary>
    public string this[string name] => PinnedPath(CorpusMap.Get(name));

    /// <summary>The pinned path of <paramref name="map"/>; loads the corpus first.</summary>
    public string PinnedPath(CorpusMap map)
    {
        Require();
        return Path.Combine(MapsDirectory(map.ObjectName), map.PinName);
    }

    /// <summary>The directory bpftool pinned an object's maps in.</summary>
    public string MapsDirectory(string obj) => Path.Combine(Root, "maps", obj);

    /// <summary>The directory bpftool pinned an object's programs in (one file per program).</summary>
    public string ProgramsDirectory(string obj) => Path.Combine(Root, "progs", obj);

    /// <summary>The compiled object file.</summary>
    public static string ObjectFile(string obj) => Path.Combine(ObjectDirectory, obj + ".bpf.o");

    /// <summary>
    /// Skips the test when a tool the corpus needs is missing; otherwise builds, loads and fills the
    /// corpus once, and fails the test (every time it is asked) if that did not work.
    /// </summary>
    public void Require()
    {
        if (s_unavailable.Value is { } reason)
        {
            Assert.Skip(reason);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _ = _loaded.Value;
    }

    /// <summary>Why the corpus cannot be used on this machine, or null when it can.</summary>
    public static string? WhyUnavailable() => s_unavailable.Value;

    /// <summary>The BTF id a pinned corpus map refers to; fails the test when it has none.</summary>
    public uint BtfId(string name)
    {
        uint? id = Bpftool.BtfId(this[name]);
        Assert.True(id is not null, $"{name} has no BTF");
        return id!.Value;
    }

    /// <summary><c>bpftool -j btf dump id N</c> of the BTF a corpus map refers to: its <c>types</c> array.</summary>
    public JsonArray BtfTypes(string name) => Bpftool.Parse(Bpftool.BtfDump(BtfId(name)))["types"]!.AsArray();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        RemoveDirectory(Root);
    }

    private static string? FindWhyUnavailable()
    {
        if (BpfFeatures.WhyUnavailable() is { } bpf)
        {
            return $"bpf() unavailable: {bpf}";
        }

        if (!File.ReadAllText("/proc/mounts").Contains(" /sys/fs/bpf bpf ", StringComparison.Ordinal))
        {
            return "bpffs is not mounted at /sys/fs/bpf (scripts/setup.sh mounts it)";
        }

        if (Bpftool.PathOrNull is null)
        {
            return "bpftool is not installed (scripts/setup.sh installs it)";
        }

        if (ExternalTool.Which("taskset") is null)
        {
            return "taskset is not installed (scripts/setup.sh installs util-linux); the corpus fills per-CPU maps on each CPU with it";
        }

        return CorpusCompiler.WhyUnavailable();
    }

    private IReadOnlyList<int> Load()
    {
        RemoveStaleRoots();
        var objects = CorpusCompiler.CompileAll(ObjectDirectory);

        // bpftool creates the last directory of each path but not its parents.
        Directory.CreateDirectory(Path.Combine(Root, "progs"));
        Directory.CreateDirectory(Path.Combine(Root, "maps"));
        foreach (var (obj, file, _) in objects)
        {
            ToolResult r = Bpftool.Run("prog", "loadall", file, ProgramsDirectory(obj), "pinmaps", MapsDirectory(obj));
            if (!r.Succeeded)
            {
                throw new InvalidOperationException($"loading the BTF corpus object {obj} failed: {r.Describe()}");
            }
        }

        // XDP test runs need at least an Ethernet header of input; the programs ignore it.
        string packet = Path.Combine(ObjectDirectory, "packet.bin");
        File.WriteAllBytes(packet, new byte[64]);
        string taskset = ExternalTool.Which("taskset")!;
        IReadOnlyList<int> cpus = AllowedCpus();
        foreach (var (obj, _, _) in objects)
        {
            foreach (string prog in Directory.GetFiles(ProgramsDirectory(obj)).Order(StringComparer.Ordinal))
            {
                foreach (int cpu in cpus)
                {
                    Fill(taskset, cpu, prog, packet);
                }
            }
        }

        return cpus;
    }

    private static void Fill(string taskset, int cpu, string prog, string packet)
    {
        ToolResult r = ExternalTool.Run(taskset, ["-c", cpu.ToString(), Bpftool.Exe, "-j", "prog", "run", "pinned", prog, "data_in", packet, "repeat", "1"]);
        int? retval = null;
        if (r.Succeeded)
        {
            try
            {
                retval = JsonNode.Parse(r.Stdout)?["retval"]?.GetValue<int>();
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        if (retval != FillOk)
        {
            throw new InvalidOperationException($"the fill program {prog} on CPU {cpu} did not return XDP_PASS ({FillOk}), so a map update failed: {r.Describe()}");
        }
    }

    /// <summary>
    /// How many values bpftool prints for a per-CPU map: the highest possible CPU plus one, from
    /// <c>/sys/devices/system/cpu/possible</c>, as libbpf counts them.
    /// </summary>
    public static int PossibleCpuCount => ParseCpuList(File.ReadAllText("/sys/devices/system/cpu/possible")).Max() + 1;

    /// <summary>The CPUs in this process's affinity mask.</summary>
    private static IReadOnlyList<int> AllowedCpus()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
        return ParseCpuList(line["Cpus_allowed_list:".Length..]);
    }

    /// <summary>Parses the kernel's CPU list format, e.g. <c>0-3,8</c>.</summary>
    private static List<int> ParseCpuList(string list)
    {
        var cpus = new List<int>();
        foreach (string part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] range = part.Split('-');
            int first = int.Parse(range[0]);
            int last = range.Length > 1 ? int.Parse(range[1]) : first;
            for (int c = first; c <= last; c++)
            {
                cpus.Add(c);
            }
        }

        return cpus;
    }

    /// <summary>Removes the corpus directories of processes that died without disposing their fixture.</summary>
    private static void RemoveStaleRoots()
    {
        foreach (string dir in Directory.GetDirectories("/sys/fs/bpf", "bpfmaps-corpus-*"))
        {
            string rest = dir[RootPrefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash > 0 && int.TryParse(rest[..dash], out int pid) && !Directory.Exists($"/proc/{pid}"))
            {
                RemoveDirectory(dir);
            }
        }
    }

    private static void RemoveDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
