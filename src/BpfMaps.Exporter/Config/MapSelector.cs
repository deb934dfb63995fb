namespace BpfMaps.Exporter;

/// <summary>
/// The exporter's reading of the library's <see cref="MapSelector"/>: the configuration's <c>map</c> field
/// (<c>id N</c>, <c>pinned PATH</c> with an absolute path, <c>name NAME</c> without spaces) and the
/// default <c>map</c> label.
/// </summary>
internal static class ExporterMapSelector
{
    extension(MapSelector)
    {
        /// <summary>Parses <c>id N</c>, <c>pinned PATH</c> or <c>name NAME</c> from the configuration.</summary>
        /// <param name="s">The text.</param>
        /// <param name="error">Why it is malformed, or null.</param>
        /// <returns>The selector, or null.</returns>
        public static MapSelector? TryParse(string? s, out string? error)
        {
            error = null;
            string t = (s ?? "").Trim();
            int space = t.IndexOf(' ', StringComparison.Ordinal);
            string word = space < 0 ? t : t[..space];
            if (MapSelector.TryParse(s, out MapSelector? selector, out _)
                && selector.Kind switch
                {
                    MapSelectorKind.Pinned => selector.Value.StartsWith('/'),
                    MapSelectorKind.Name => !selector.Value.Contains(' ', StringComparison.Ordinal),
                    _ => true,
                })
            {
                return selector;
            }

            error = word switch
            {
                "id" => $"'{s}': 'id' needs a positive map id, as in 'id 42'",
                "pinned" => $"'{s}': 'pinned' needs an absolute path on bpffs, as in 'pinned /sys/fs/bpf/counts'",
                "name" => $"'{s}': 'name' needs a map name of 1 to 15 characters (the kernel keeps 15), as in 'name counts'",
                _ => $"'{s}' is not a map selector; expected 'id N', 'pinned PATH' or 'name NAME'",
            };
            return null;
        }
    }

    extension(MapSelector selector)
    {
        /// <summary>A short name for the <c>map</c> label: the name, the pin's file name, or <c>id N</c>.</summary>
        public string DefaultLabel => selector.Kind switch
        {
            MapSelectorKind.Pinned => System.IO.Path.GetFileName(selector.Value.TrimEnd('/')),
            MapSelectorKind.Name => selector.Value,
            _ => $"id {selector.Id}",
        };
    }
}
