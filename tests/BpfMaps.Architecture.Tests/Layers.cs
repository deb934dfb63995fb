using System.Text;
using System.Text.RegularExpressions;
using Mono.Cecil;

namespace BpfMaps.Architecture.Tests;

/// <summary>
/// Which folder each top-level type of a project was declared in, read from the project's sources, and the rules
/// evaluated over <see cref="TypeReferences"/>. Folders, not namespaces: <c>Maps/</c> and <c>Errors/</c> share the
/// root namespace.
/// </summary>
internal static partial class Layers
{
    /// <summary>The repository root (the directory holding BpfMaps.sln), found upward from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Maps "Namespace.Name`arity" of every top-level type declared under <paramref name="projectDir"/> to its first folder ("(root)" for files beside the project).</summary>
    public static Dictionary<string, string> FoldersFromSources(string projectDir)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(projectDir, "*.cs", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(projectDir, file);
            if (rel.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || rel.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }

            int slash = rel.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
            string folder = slash < 0 ? "(root)" : rel[..slash];
            string text = File.ReadAllText(file);
            Match ns = NamespaceLine().Match(text);
            if (!ns.Success)
            {
                continue;
            }

            // File-scoped namespaces put top-level types at column 0, block namespaces at 4 spaces.
            string indent = ns.Groups[2].Value == ";" ? "" : "    ";
            foreach (string line in text.Split('\n'))
            {
                if (!line.StartsWith(indent, StringComparison.Ordinal) || (line.Length > indent.Length && char.IsWhiteSpace(line[indent.Length])))
                {
                    continue;
                }

                Match m = TypeDeclaration().Match(line[indent.Length..]);
                if (!m.Success)
                {
                    m = DelegateDeclaration().Match(line[indent.Length..]);
                }

                if (m.Success)
                {
                    string name = m.Groups["name"].Value;
                    if (m.Groups["args"].Success)
                    {
                        name += "`" + (m.Groups["args"].Value.Count(c => c == ',') + 1);
                    }

                    map[$"{ns.Groups[1].Value}.{name}"] = folder;
                }
            }
        }

        return map;
    }

    /// <summary>Uses of a forbidden folder: each entry of <paramref name="forbidden"/> names the folders its key may not use.</summary>
    public static List<string> ForbiddenUses(IEnumerable<TypeUse> uses, Func<TypeReference, string?> folderOf, IReadOnlyDictionary<string, string[]> forbidden)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (TypeUse u in uses)
        {
            if (folderOf(u.From) is not { } from || !forbidden.TryGetValue(from, out string[]? no) || folderOf(u.To) is not { } to || !no.Contains(to))
            {
                continue;
            }

            string key = $"{from} -> {to}: {u.From.FullName} uses {u.To.FullName}";
            found.TryAdd(key, u.Where);
        }

        return found.Select(kv => $"{kv.Key} (in {kv.Value})").ToList();
    }

    /// <summary>The folder graph of <paramref name="uses"/> (uses inside one folder left out).</summary>
    public static SortedDictionary<string, SortedDictionary<string, string>> FolderGraph(IEnumerable<TypeUse> uses, Func<TypeReference, string?> folderOf)
    {
        var graph = new SortedDictionary<string, SortedDictionary<string, string>>(StringComparer.Ordinal);
        foreach (TypeUse u in uses)
        {
            if (folderOf(u.From) is not { } from || folderOf(u.To) is not { } to || from == to)
            {
                continue;
            }

            if (!graph.TryGetValue(from, out var edges))
            {
                graph[from] = edges = new SortedDictionary<string, string>(StringComparer.Ordinal);
            }

            edges.TryAdd(to, $"{u.From.FullName} uses {u.To.FullName} (in {u.Where})");
        }

        return graph;
    }

    /// <summary>The cycles of a folder graph, one line per strongly connected component of more than one folder, with an example use per edge.</summary>
    public static List<string> Cycles(SortedDictionary<string, SortedDictionary<string, string>> graph)
    {
        // Tarjan's strongly connected components.
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<string>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (string w in graph.TryGetValue(v, out var e) ? e.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);

                if (component.Count > 1)
                {
                    var text = new StringBuilder($"cycle between {string.Join(", ", component.Order(StringComparer.Ordinal))}:");
                    foreach (string a in component.Order(StringComparer.Ordinal))
                    {
                        foreach ((string b, string example) in graph[a].Where(kv => component.Contains(kv.Key)))
                        {
                            text.Append($"{Environment.NewLine}  {a} -> {b}: {example}");
                        }
                    }

                    result.Add(text.ToString());
                }
            }
        }

        foreach (string v in graph.Keys)
        {
            if (!index.ContainsKey(v))
            {
                Visit(v);
            }
        }

        return result;
    }

    /// <summary>
    /// Uses, from outside, of types or members of <paramref name="libraryAssembly"/> that are not visible outside it
    /// (internal, private protected, or reached only through InternalsVisibleTo).
    /// </summary>
    public static List<string> NonPublicUses(IEnumerable<TypeUse> uses, string libraryAssembly, Func<TypeReference, bool>? inLibrary = null)
    {
        inLibrary ??= t => TypeReferences.AssemblyOf(t) == libraryAssembly;
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (TypeUse u in uses)
        {
            if (!inLibrary(u.To) || inLibrary(u.From))
            {
                continue;
            }

            TypeDefinition? to = u.To.Resolve();
            if (to is null)
            {
                found.Add($"{u.From.FullName} uses {u.To.FullName}, which cannot be resolved (in {u.Where})");
                continue;
            }

            if (!to.IsPublic)
            {
                found.Add($"{u.From.FullName} uses non-public {to.FullName} (in {u.Where})");
                continue;
            }

            IMemberDefinition? member = u.Member switch
            {
                MethodReference m => m.Resolve(),
                FieldReference f => f.Resolve(),
                _ => null,
            };
            // A compiler-generated type of the caller's own assembly (a collection expression's
            // <>z__ReadOnlySingleElementList<T> over a library type) is not the library's.
            if (member?.DeclaringType is { } owner && !inLibrary(owner))
            {
                continue;
            }

            if (member is not null && !VisibleOutside(member))
            {
                found.Add($"{u.From.FullName} uses non-public {member.FullName} (in {u.Where})");
            }
            else if (member?.DeclaringType is { } declaring && !VisibleOutside(declaring))
            {
                found.Add($"{u.From.FullName} uses a member of non-public {declaring.FullName} (in {u.Where})");
            }
        }

        return [.. found];
    }

    private static bool VisibleOutside(IMemberDefinition member) => member switch
    {
        MethodDefinition m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
        FieldDefinition f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        TypeDefinition t => (t.IsPublic || t.IsNestedPublic || t.IsNestedFamily || t.IsNestedFamilyOrAssembly) && (t.DeclaringType is null || VisibleOutside(t.DeclaringType)),
        _ => true,
    };

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "BpfMaps.sln")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException($"BpfMaps.sln not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*(;|\r?$)", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"^(?:(?:public|internal|private|protected|static|sealed|abstract|partial|readonly|unsafe|file|ref|new)\s+)*(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+(?<name>\w+)\s*(?:<(?<args>[^>]*)>)?")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^(?:(?:public|internal|private|protected|unsafe|file)\s+)*delegate\s+.+?\s+(?<name>\w+)\s*(?:<(?<args>[^>]*)>)?\s*\(")]
    private static partial Regex DelegateDeclaration();
}
