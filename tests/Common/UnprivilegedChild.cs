namespace BpfMaps.Tests.Common;

/// <summary>
/// Runs a built .NET program as an unprivileged user (uid 65534, no capabilities), even when the
/// checkout lives in a private directory (mktemp -d, /root) that such a user cannot enter: the
/// program's directory is copied once per test process to a world-readable temporary directory,
/// which is removed when the process exits.
/// </summary>
public static class UnprivilegedChild
{
    private static readonly Dictionary<string, string> s_staged = new(StringComparer.Ordinal);
    private static readonly Lock s_lock = new();

    /// <summary>The setpriv prefix: nobody's uid and gid, no groups, no capabilities of any kind.</summary>
    public static IReadOnlyList<string> Setpriv { get; } =
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"];

    /// <summary>Why the test cannot drop privileges here, or null when it can.</summary>
    public static string? WhyUnavailable()
        => Environment.UserName != "root" ? "dropping privileges needs a root test run"
            : !File.Exists("/usr/bin/setpriv") ? "setpriv not installed (scripts/setup.sh installs util-linux)"
            : null;

    /// <summary>The path of <paramref name="dll"/> in a copy of its directory that any user can read.</summary>
    /// <param name="dll">A built program, e.g. bpfmap.dll in the test's output directory.</param>
    /// <returns>The copied program's path.</returns>
    public static string Stage(string dll)
    {
        string source = Path.GetDirectoryName(Path.GetFullPath(dll))!;
        lock (s_lock)
        {
            if (!s_staged.TryGetValue(source, out string? target))
            {
                target = Path.Combine(Path.GetTempPath(), $"bpfmaps-unpriv-{Environment.ProcessId}-{Guid.NewGuid():N}");
                CopyReadable(source, target);
                s_staged[source] = target;
                string remove = target;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(remove);
            }

            return Path.Combine(target, Path.GetFileName(dll));
        }
    }

    private static void CopyReadable(string source, string target)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("unprivileged children need Linux");
        }

        const UnixFileMode dirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        const UnixFileMode fileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        Directory.CreateDirectory(target, dirMode);
        File.SetUnixFileMode(target, dirMode);
        foreach (string dir in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            string d = Path.Combine(target, Path.GetRelativePath(source, dir));
            Directory.CreateDirectory(d, dirMode);
            File.SetUnixFileMode(d, dirMode);
        }

        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string f = Path.Combine(target, Path.GetRelativePath(source, file));
            File.Copy(file, f, overwrite: true);
            File.SetUnixFileMode(f, fileMode);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
