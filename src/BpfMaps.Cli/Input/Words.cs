using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Input;

/// <summary>
/// A cursor over the positional words of a bpftool-style command (<c>id 5 key 1 0 0 0 value ...</c>).
/// Everything that is not a <c>--option</c> arrives here in order.
/// </summary>
internal sealed class Words
{
    private readonly IReadOnlyList<string> _words;

    /// <summary>Wraps the words.</summary>
    /// <param name="words">The words.</param>
    /// <param name="command">The command name, for messages.</param>
    /// <exception cref="CliException">A word looks like an option this command does not have (<see cref="ExitCode.Usage"/>).</exception>
    public Words(IReadOnlyList<string> words, string command)
    {
        // The parser hands unknown --options to the words argument; they are never map words.
        if (words.FirstOrDefault(w => w.StartsWith("--", StringComparison.Ordinal)) is { } option)
        {
            throw new CliException(ExitCode.Usage, $"Unrecognized command or argument '{option}' for '{command}'");
        }

        _words = words;
        Command = command;
    }

    /// <summary>The command these words belong to.</summary>
    public string Command { get; }

    /// <summary>Index of the next word.</summary>
    public int Position { get; private set; }

    /// <summary>Whether every word was consumed.</summary>
    public bool AtEnd => Position >= _words.Count;

    /// <summary>The next word, or null at the end.</summary>
    public string? Peek => AtEnd ? null : _words[Position];

    /// <summary>Consumes the next word.</summary>
    /// <param name="what">What the word is, for the error when it is missing.</param>
    /// <returns>The word.</returns>
    /// <exception cref="CliException">No word is left (<see cref="ExitCode.Usage"/>).</exception>
    public string Next(string what)
    {
        if (AtEnd)
        {
            throw new CliException(ExitCode.Usage, $"{Command}: expected {what}");
        }

        return _words[Position++];
    }

    /// <summary>Consumes the next word if it equals <paramref name="keyword"/>.</summary>
    /// <param name="keyword">The keyword.</param>
    /// <returns>Whether it was there.</returns>
    public bool TryKeyword(string keyword)
    {
        if (Peek == keyword)
        {
            Position++;
            return true;
        }

        return false;
    }

    /// <summary>Consumes <paramref name="keyword"/> or fails.</summary>
    /// <param name="keyword">The keyword.</param>
    /// <exception cref="CliException">Another word, or none (<see cref="ExitCode.Usage"/>).</exception>
    public void Expect(string keyword)
    {
        if (!TryKeyword(keyword))
        {
            throw new CliException(ExitCode.Usage, AtEnd
                ? $"{Command}: expected '{keyword}'"
                : $"{Command}: expected '{keyword}', got '{Peek}'");
        }
    }

    /// <summary>Fails if words are left over.</summary>
    /// <exception cref="CliException">An unexpected word (<see cref="ExitCode.Usage"/>).</exception>
    public void ExpectEnd()
    {
        if (!AtEnd)
        {
            throw new CliException(ExitCode.Usage, $"{Command}: unexpected argument '{Peek}'");
        }
    }
}
