using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace BpfMaps.Exporter;

/// <summary>The exporter configuration's value syntaxes: listen addresses, intervals and expiries.</summary>
internal static partial class ConfigValues
{
    /// <summary>Parses <c>HOST:PORT</c>; empty means no Prometheus endpoint.</summary>
    internal static (string? Host, int Port) ParseListen(string? listen)
    {
        if (string.IsNullOrWhiteSpace(listen))
        {
            return (null, 0);
        }

        int colon = listen.LastIndexOf(':');
        string host = colon > 0 ? listen[..colon] : "";
        if (colon <= 0 || !int.TryParse(listen.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new ExporterConfigException("listen", $"'{listen}' is not HOST:PORT (e.g. {ExporterOptions.DefaultListen} or [::1]:9435)");
        }

        string bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (bare != "localhost" && !IPAddress.TryParse(bare, out _))
        {
            throw new ExporterConfigException("listen", $"'{host}' is not an IP address or localhost");
        }

        return (host, port);
    }

    /// <summary>Parses <c>500ms</c>, <c>10s</c>, <c>1m</c> or a TimeSpan (<c>00:00:10</c>).</summary>
    internal static TimeSpan? ParseInterval(string? text)
    {
        string t = (text ?? "").Trim();
        TimeSpan span;
        Match m = Duration().Match(t);
        if (m.Success)
        {
            double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            span = m.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMinutes(n),
            };
        }
        else if (!TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out span))
        {
            return null;
        }

        return span >= TimeSpan.FromMilliseconds(10) && span <= TimeSpan.FromHours(1) ? span : null;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$")]
    private static partial Regex Duration();

    /// <summary>An expiry: 10ms to 7 days, in ms, s, m or h.</summary>
    internal static TimeSpan? ParseExpiry(string text)
    {
        Match m = ExpiryDuration().Match(text);
        if (!m.Success)
        {
            return null;
        }

        double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        TimeSpan span = m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromHours(n),
        };
        return span >= TimeSpan.FromMilliseconds(10) && span <= TimeSpan.FromDays(7) ? span : null;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")]
    private static partial Regex ExpiryDuration();
}
