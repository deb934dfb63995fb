using BpfMaps.Cli.Errors;

namespace BpfMaps.Cli.Input;

/// <summary>Reads the library's <see cref="MapSelector"/> (<c>id N</c>, <c>pinned PATH</c>, <c>name NAME</c>, as in bpftool) from the command line.</summary>
internal static class MapSelectorWords
{
    extension(MapSelector)
    {
        /// <summary>Reads a selector from <paramref name="words"/>.</summary>
        /// <param name="words">The words.</param>
        /// <returns>The selector.</returns>
        /// <exception cref="CliException"><see cref="ExitCode.BadSelector"/> for anything that is not a selector.</exception>
        public static MapSelector Read(Words words)
        {
            string? kind = words.Peek;
            if (kind is not null)
            {
                words.Next("map");
            }

            string? value = kind is not null && !words.AtEnd && MapSelector.Keywords.Contains(kind) ? words.Next(kind) : null;
            if (MapSelector.TryParse(kind, value, out MapSelector? selector, out MapSelectorError error))
            {
                return selector;
            }

            throw new CliException(ExitCode.BadSelector, error switch
            {
                MapSelectorError.Empty => $"{words.Command}: expected a map: id N | pinned PATH | name NAME",
                MapSelectorError.UnknownKind => $"{words.Command}: '{kind}' is not a map selector; use id N, pinned PATH or name NAME",
                MapSelectorError.MissingValue when value is not null && kind == "id" => $"{words.Command}: map id '' is not a positive integer",
                MapSelectorError.MissingValue when value is not null && kind == "name" => throw new CliException(ExitCode.MapNotFound, "no map named ''"),
                MapSelectorError.MissingValue when value is not null => $"{words.Command}: 'pinned' needs a path",
                MapSelectorError.MissingValue => $"{words.Command}: '{kind}' needs a value",
                MapSelectorError.ContainsNul => $"{words.Command}: '{kind}' value has a NUL character",
                MapSelectorError.BadId => $"{words.Command}: map id '{value}' is not a positive integer",
                _ => $"{words.Command}: map name '{value}' is longer than 15 characters, the kernel's limit",
            });
        }
    }
}
