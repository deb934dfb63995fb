using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Commands;

/// <summary>
/// <c>completion bash|zsh</c>: prints a script that asks bpfmap itself for completions through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive, which completes commands, options, and
/// live map ids, names and pin paths.
/// </summary>
internal static class CompletionScript
{
    /// <summary>The script for <paramref name="shell"/>.</summary>
    /// <param name="shell">bash or zsh.</param>
    /// <returns>The script.</returns>
    /// <exception cref="CliException">Another shell (<see cref="ExitCode.Usage"/>).</exception>
    public static string For(string shell) => shell switch
    {
        "bash" => """
            # bpfmap completion for bash: eval "$(bpfmap completion bash)"
            _bpfmap_complete() {
                local IFS=$'\n'
                COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
            }
            complete -o default -F _bpfmap_complete bpfmap

            """,
        "zsh" => """
            # bpfmap completion for zsh: eval "$(bpfmap completion zsh)"
            _bpfmap_complete() {
                local -a items
                items=("${(@f)$(${words[1]} "[suggest:${#BUFFER}]" "${BUFFER}" 2>/dev/null)}")
                compadd -- $items
            }
            compdef _bpfmap_complete bpfmap

            """,
        _ => throw new CliException(ExitCode.Usage, $"completion: unknown shell '{shell}' (bash or zsh)"),
    };
}
