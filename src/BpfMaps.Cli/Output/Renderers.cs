using BpfMaps.Cli.Hosting;

namespace BpfMaps.Cli.Output;

/// <summary>Picks the renderer for a format.</summary>
internal static class Renderers
{
    /// <summary>The entry renderer for <paramref name="format"/>.</summary>
    /// <param name="format">A resolved format.</param>
    /// <param name="console">The console.</param>
    /// <param name="layout">The entry layout.</param>
    /// <param name="pretty">Indented JSON.</param>
    /// <param name="single">A single entry (lookup) rather than a dump.</param>
    /// <param name="title">Table title.</param>
    /// <param name="trailingNewline">JSON: end with a newline (not when nested in a larger document, as a map of a multi-map dump).</param>
    /// <returns>The renderer.</returns>
    public static IEntryRenderer ForEntries(OutputFormat format, CliConsole console, EntryLayout layout, bool pretty, bool single, string? title, bool trailingNewline = true) => format switch
    {
        OutputFormat.Ndjson when layout.Columns is { } c => new NdjsonFieldRenderer(console.Stdout, c),
        OutputFormat.Csv when layout.Columns is { } c => new CsvFieldRenderer(console.Stdout, c),
        OutputFormat.Table when layout.Columns is { } c => new TableFieldRenderer(console.Out, c, title),
        OutputFormat.Plain or OutputFormat.Auto when layout.Btf is { } b => new BtfTextEntryRenderer(console.Stdout, b, single),
        OutputFormat.Json => new JsonEntryRenderer(console.Stdout, layout, pretty, single, trailingNewline),
        OutputFormat.Ndjson => new NdjsonEntryRenderer(console.Stdout, layout),
        OutputFormat.Csv => new CsvEntryRenderer(console.Stdout, layout),
        OutputFormat.Table => new TableEntryRenderer(console.Out, layout, title),
        _ => new PlainEntryRenderer(console.Stdout, layout, single),
    };

    /// <summary>The map-info renderer for <paramref name="format"/>.</summary>
    /// <param name="format">A resolved format.</param>
    /// <param name="console">The console.</param>
    /// <param name="pretty">Indented JSON.</param>
    /// <returns>The renderer.</returns>
    public static IMapInfoRenderer ForMapInfo(OutputFormat format, CliConsole console, bool pretty) => format switch
    {
        OutputFormat.Json => new JsonMapInfoRenderer(console.Stdout, pretty),
        OutputFormat.Ndjson => new NdjsonMapInfoRenderer(console.Stdout),
        OutputFormat.Csv => new CsvMapInfoRenderer(console.Stdout),
        OutputFormat.Table => new TableMapInfoRenderer(console.Out),
        _ => new PlainMapInfoRenderer(console.Stdout),
    };

    /// <summary>The renderer of <c>btf dump</c>'s types.</summary>
    /// <param name="json">bpftool's JSON rather than its plain text.</param>
    /// <param name="console">The console.</param>
    /// <param name="pretty">Indented JSON.</param>
    /// <returns>The renderer.</returns>
    public static IBtfTypeRenderer ForBtfTypes(bool json, CliConsole console, bool pretty)
        => json ? new JsonBtfTypeRenderer(console.Stdout, pretty) : new PlainBtfTypeRenderer(console.Stdout);

    /// <summary>The renderer of <c>btf show</c>.</summary>
    /// <param name="json">bpftool's JSON rather than its plain text.</param>
    /// <param name="console">The console.</param>
    /// <param name="pretty">Indented JSON.</param>
    /// <returns>The renderer.</returns>
    public static IBtfInfoRenderer ForBtfInfo(bool json, CliConsole console, bool pretty)
        => json ? new JsonBtfInfoRenderer(console.Stdout, pretty) : new PlainBtfInfoRenderer(console.Stdout);
}
