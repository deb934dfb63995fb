using System.Globalization;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>One sample of the Prometheus text format.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public override string ToString() => $"{Name}{{{string.Join(",", Labels.OrderBy(l => l.Key).Select(l => $"{l.Key}=\"{l.Value}\""))}}} {Value}";
}

/// <summary>A parsed scrape: enough of the text exposition format for exact assertions.</summary>
public sealed class Scrape
{
    public Scrape(string text)
    {
        Text = text;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            Samples.Add(ParseLine(line));
        }
    }

    public string Text { get; }

    public List<Sample> Samples { get; } = [];

    /// <summary>Samples of a metric, with the given labels (others ignored).</summary>
    public List<Sample> Find(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out string? v) && v == l.Value)).ToList();

    /// <summary>The value of exactly one sample, or null if there is none.</summary>
    public double? Value(string name, params (string Key, string Value)[] labels)
    {
        List<Sample> found = Find(name, labels);
        Assert.True(found.Count <= 1, $"more than one {name} sample:\n{string.Join("\n", found)}");
        return found.Count == 0 ? null : found[0].Value;
    }

    private static Sample ParseLine(string line)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        int brace = line.IndexOf('{', StringComparison.Ordinal);
        int space;
        string name;
        if (brace >= 0)
        {
            name = line[..brace];
            int i = brace + 1;
            while (line[i] != '}')
            {
                int eq = line.IndexOf('=', i);
                string key = line[i..eq].Trim(',', ' ');
                var value = new System.Text.StringBuilder();
                int j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                    }

                    value.Append(line[j]);
                }

                labels[key] = value.ToString();
                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
            }

            space = i + 1;
        }
        else
        {
            space = line.IndexOf(' ', StringComparison.Ordinal);
            name = line[..space];
        }

        string[] rest = line[space..].Trim().Split(' ');
        return new Sample(name, labels, double.Parse(rest[0], CultureInfo.InvariantCulture));
    }
}
