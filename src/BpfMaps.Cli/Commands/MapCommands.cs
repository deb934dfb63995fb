using BpfMaps.Cli.Hosting;
using BpfMaps.Cli.Inspection;
using BpfMaps.Cli.Output;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// What the map command workers share (<see cref="DumpCommands"/>, <see cref="ElementCommands"/>,
/// <see cref="LifecycleCommands"/>, <see cref="QueueCommands"/>): checks, messages and bpftool's JSON null.
/// </summary>
internal static class MapCommands
{
    /// <summary>Whether <paramref name="format"/> shows a column per field (where BTF fields and per-field reductions apply).</summary>
    internal static bool HasColumns(OutputFormat format) => format is OutputFormat.Table or OutputFormat.Csv or OutputFormat.Ndjson;

    // A frozen map's descriptors are read-only, so the kernel answers writes with EPERM even for root.
    internal static bool IsFrozen(BpfMap map) => MapDetails.Read(map, null, null).Frozen;

    internal static CliException Frozen(BpfMap map)
        => new(ExitCode.PermissionDenied, $"permission denied: map {map.Id} is frozen (read-only for syscalls; BPF programs can still write it)");

    // Queue, stack and bloom filter maps have no keys, so BPF_MAP_GET_NEXT_KEY (and the batch commands) answer EINVAL.
    internal static void RequireKeys(BpfMap map, string command)
    {
        if (map.KeySize == 0)
        {
            throw new CliException(ExitCode.NotSupported, $"{command}: {map.Type.KernelName()} map {map.Id} has no keys to walk; read it with lookup MAP (peek)");
        }
    }

    internal static string Title(BpfMap map) => $"{map.Type.KernelName()} map {map.Id} '{map.Name}'";

    // bpftool prints JSON null for commands that have nothing to say.
    internal static ExitCode Done(CliConsole console, OutputFormat format)
    {
        if (format == OutputFormat.Json)
        {
            console.Stdout.Write("null\n"u8);
            console.Stdout.Flush();
        }

        return ExitCode.Ok;
    }
}
