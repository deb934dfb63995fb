using Mono.Cecil;

namespace BpfMaps.Architecture.Tests;

/// <summary>
/// The layering of docs/architecture.md, checked on the compiled assemblies: inside the library
/// Interop ← Kernel ← Maps ← Events / Programs, Asm and Btf below the maps; the library knows nothing of the
/// engine, the exporter, the CLI or the measurements; those reach the library through its public surface only;
/// the CLI's folders form no cycle. Each rule is also run on deliberate violations (<c>Fixtures/</c>) to show it
/// can fail.
/// </summary>
public class ArchitectureTests
{
    private const string Library = "BpfMaps";

    /// <summary>For each library folder, the folders it must not use.</summary>
    internal static readonly Dictionary<string, string[]> LibraryRules = new()
    {
        ["Interop"] = ["Kernel", "Maps", "Errors", "Events", "Programs", "Asm", "Btf", "Features"],
        ["Kernel"] = ["Maps", "Events", "Programs", "Asm", "Btf", "Features"],
        ["Maps"] = ["Events", "Programs", "Asm", "Features"],
        ["Events"] = ["Programs", "Asm", "Features"],
        ["Programs"] = ["Events", "Features"],
        ["Asm"] = ["Maps", "Programs", "Events", "Kernel", "Btf", "Features"],
        ["Btf"] = ["Maps", "Events", "Programs", "Asm", "Features"],
        ["Errors"] = ["Events", "Programs", "Asm", "Features"],
    };

    private static readonly Lazy<Dictionary<string, string>> s_libraryFolders =
        new(() => Layers.FoldersFromSources(Path.Combine(Layers.RepositoryRoot, "src", "BpfMaps")));

    private static readonly Lazy<Dictionary<string, string>> s_cliFolders =
        new(() => Layers.FoldersFromSources(Path.Combine(Layers.RepositoryRoot, "src", "BpfMaps.Cli")));

    private static string? LibraryFolder(TypeReference t)
        => TypeReferences.AssemblyOf(t) == Library ? s_libraryFolders.Value.GetValueOrDefault(TypeReferences.TopLevel(t).FullName) : null;

    // Program.cs's top-level statements compile into a class "Program" in the global namespace.
    private static string? CliFolder(TypeReference t)
        => TypeReferences.AssemblyOf(t) != "bpfmap" ? null
            : TypeReferences.TopLevel(t).FullName == "Program" ? "(root)"
            : s_cliFolders.Value.GetValueOrDefault(TypeReferences.TopLevel(t).FullName);

    [Fact]
    public void Every_library_and_cli_type_has_a_known_folder()
    {
        // Without this, a type the source scan missed would be exempt from every rule.
        List<string> unknown = [];
        foreach ((string assembly, Func<TypeReference, string?> folderOf) in new (string, Func<TypeReference, string?>)[] { (Library, LibraryFolder), ("bpfmap", CliFolder) })
        {
            foreach (TypeDefinition t in TypeReferences.Module(assembly).Types)
            {
                if (!t.Name.StartsWith('<') && !t.Namespace.StartsWith("System", StringComparison.Ordinal)
                    && !t.Namespace.StartsWith("Microsoft", StringComparison.Ordinal) && folderOf(t) is null)
                {
                    unknown.Add($"{assembly}: {t.FullName}");
                }
            }
        }

        Assert.True(unknown.Count == 0, "types whose folder the source scan did not find:" + Environment.NewLine + string.Join(Environment.NewLine, unknown));
    }

    [Fact]
    public void Library_folders_use_only_the_layers_below_them()
    {
        List<TypeUse> uses = TypeReferences.Uses(TypeReferences.Module(Library));
        List<string> violations = Layers.ForbiddenUses(uses, LibraryFolder, LibraryRules);
        string graph = string.Join(Environment.NewLine, Layers.FolderGraph(uses, LibraryFolder).Select(kv => $"{kv.Key} -> {string.Join(", ", kv.Value.Keys)}"));
        TestContext.Current.TestOutputHelper?.WriteLine(graph);
        Assert.True(violations.Count == 0, $"{violations.Count} uses against the layering:{Environment.NewLine}{string.Join(Environment.NewLine, violations)}{Environment.NewLine}folder graph:{Environment.NewLine}{graph}");
    }

    [Theory]
    [InlineData(Library, new[] { "BpfMaps.InProcess", "BpfMaps.Exporter", "bpfmap", "BpfMaps.Measurements" })]
    [InlineData("BpfMaps.InProcess", new[] { "BpfMaps.Exporter", "bpfmap", "BpfMaps.Measurements" })]
    [InlineData("BpfMaps.Exporter", new[] { "BpfMaps.InProcess", "bpfmap", "BpfMaps.Measurements" })]
    [InlineData("BpfMaps.Measurements", new[] { "BpfMaps.Exporter", "bpfmap" })]
    public void Assemblies_reference_nothing_above_them(string assembly, string[] above)
    {
        string[] referenced = TypeReferences.Module(assembly).AssemblyReferences.Select(a => a.Name).ToArray();
        Assert.Empty(referenced.Intersect(above));
    }

    [Fact]
    public void Bpfmap_carries_none_of_the_exporter_which_is_its_own_executable()
    {
        // NativeAOT rehydrates all of a binary's data at start; the exporter's dependencies doubled bpfmap's startup.
        string[] referenced = TypeReferences.Module("bpfmap").AssemblyReferences.Select(a => a.Name).ToArray();
        Assert.DoesNotContain(referenced, r => r is "BpfMaps.Exporter" or "Prometheus.NetStandard" || r.StartsWith("OpenTelemetry", StringComparison.Ordinal) || r.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal));

        string[] host = TypeReferences.Module("bpfmap-exporter").AssemblyReferences.Select(a => a.Name).ToArray();
        Assert.Contains("BpfMaps.Exporter", host);
        Assert.Empty(host.Intersect(["bpfmap", "BpfMaps.InProcess", "BpfMaps.Measurements"]));
    }

    [Fact]
    public void Library_opens_its_internals_to_tests_and_benchmarks_only()
    {
        string[] allowed = ["BpfMaps.Tests", "BpfMaps.InProcess.Tests", "BpfMaps.Programs.Tests", "BpfMaps.Benchmarks"];
        string[] friends = TypeReferences.Module(Library).Assembly.CustomAttributes
            .Where(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.InternalsVisibleToAttribute")
            .Select(a => (string)a.ConstructorArguments[0].Value).ToArray();
        Assert.Empty(friends.Except(allowed));
    }

    [Theory]
    [InlineData("BpfMaps.InProcess")]
    [InlineData("BpfMaps.Exporter")]
    [InlineData("bpfmap")]
    [InlineData("BpfMaps.Measurements")]
    public void Engine_exporter_cli_and_measurements_use_only_the_public_library(string assembly)
    {
        List<string> found = Layers.NonPublicUses(TypeReferences.Uses(TypeReferences.Module(assembly)), Library);
        Assert.True(found.Count == 0, $"{assembly} reaches into the library's internals:{Environment.NewLine}{string.Join(Environment.NewLine, found)}");
    }

    [Fact]
    public void Cli_folders_form_no_cycle()
    {
        var graph = Layers.FolderGraph(TypeReferences.Uses(TypeReferences.Module("bpfmap")), CliFolder);
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(Environment.NewLine, graph.Select(kv => $"{kv.Key} -> {string.Join(", ", kv.Value.Keys)}")));
        List<string> cycles = Layers.Cycles(graph);
        Assert.True(cycles.Count == 0, string.Join(Environment.NewLine, cycles));
    }

    // The negative checks: the same rules over Fixtures/, where each rule is broken on purpose.

    private static string? FixtureFolder(TypeReference t)
    {
        const string prefix = "BpfMaps.Architecture.Tests.Fixtures.";
        string ns = TypeReferences.TopLevel(t).Namespace;
        return ns.StartsWith(prefix, StringComparison.Ordinal) ? ns[prefix.Length..] : null;
    }

    private static List<TypeUse> FixtureUses() => TypeReferences.Uses(TypeReferences.Module(typeof(ArchitectureTests).Assembly.GetName().Name!));

    [Fact]
    public void A_use_of_a_higher_layer_is_found()
    {
        List<string> violations = Layers.ForbiddenUses(FixtureUses(), FixtureFolder, new Dictionary<string, string[]> { ["Low"] = ["High"] });
        Assert.Contains(violations, v => v.StartsWith("Low -> High: BpfMaps.Architecture.Tests.Fixtures.Low.LowThing uses BpfMaps.Architecture.Tests.Fixtures.High.HighThing", StringComparison.Ordinal));
        Assert.Empty(Layers.ForbiddenUses(FixtureUses(), FixtureFolder, new Dictionary<string, string[]> { ["Library"] = ["Consumer"] }));
    }

    [Fact]
    public void A_folder_cycle_is_found()
    {
        List<string> cycles = Layers.Cycles(Layers.FolderGraph(FixtureUses(), FixtureFolder));
        string cycle = Assert.Single(cycles);
        Assert.StartsWith("cycle between High, Low:", cycle, StringComparison.Ordinal);
    }

    [Fact]
    public void A_use_of_an_internal_type_or_member_is_found()
    {
        List<string> found = Layers.NonPublicUses(FixtureUses(), "", t => FixtureFolder(t) == "Library");
        Assert.Contains(found, f => f.Contains("uses non-public BpfMaps.Architecture.Tests.Fixtures.Library.Hidden", StringComparison.Ordinal));
        Assert.Contains(found, f => f.Contains("Open::Inner()", StringComparison.Ordinal));
        Assert.DoesNotContain(found, f => f.Contains("Open::Value", StringComparison.Ordinal));
    }

    [Fact]
    public void The_library_rules_catch_a_kernel_type_using_a_map_type()
    {
        // The real rule table over a made-up use: Kernel/'s BpfFd using Maps/' MapInfo.
        ModuleDefinition library = TypeReferences.Module(Library);
        TypeDefinition fd = library.GetType("BpfMaps.Kernel.BpfFd");
        TypeDefinition info = library.GetType("BpfMaps.MapInfo");
        List<string> violations = Layers.ForbiddenUses([new TypeUse(fd, info, null, "fixture")], LibraryFolder, LibraryRules);
        Assert.Equal("Kernel -> Maps: BpfMaps.Kernel.BpfFd uses BpfMaps.MapInfo (in fixture)", Assert.Single(violations));
    }
}
