using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ImapActors.Cli.Tests.Http;

/// <summary>One sample of a scrape: the metric's name, its labels and its value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A strict reader of Prometheus' text exposition format 0.0.4: HELP and TYPE lines, samples with escaped label values,
/// every family's samples together after its TYPE, histograms with their <c>_bucket</c> (with <c>le</c>, ending at
/// <c>+Inf</c>, never decreasing), <c>_sum</c> and <c>_count</c>. Anything else throws, saying which line.
/// </summary>
internal static partial class PrometheusText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    /// <remarks>
    /// <paramref name="histogramSlack"/> is how far a histogram's <c>_count</c> may lag its <c>+Inf</c> bucket: the
    /// exporter reads a histogram's buckets and its count one after the other, without stopping the threads that record
    /// into it, so a scrape taken while emails are processed can see observations in one and not yet in the other. 0
    /// (the default) wants them equal, as a scrape of an engine at rest must have them.
    /// </remarks>
    public static IReadOnlyList<PrometheusSample> Parse(string text, int histogramSlack = 0)
    {
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var finished = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        var lines = text.Split('\n');
        if (lines[^1].Length != 0)
        {
            throw new FormatException("the exposition does not end with a line feed");
        }

        for (var n = 0; n < lines.Length - 1; n++)
        {
            var line = lines[n];
            string Where() => $"line {n + 1} '{line}'";
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE")
                {
                    if (!MetricName().IsMatch(parts[2]))
                    {
                        throw new FormatException($"{Where()}: bad metric name");
                    }

                    if (parts[1] == "TYPE")
                    {
                        if (parts.Length != 4 || !Types.Contains(parts[3]))
                        {
                            throw new FormatException($"{Where()}: bad type");
                        }

                        if (!types.TryAdd(parts[2], parts[3]) || finished.Contains(parts[2]))
                        {
                            throw new FormatException($"{Where()}: a second TYPE for {parts[2]}");
                        }

                        if (current is not null)
                        {
                            finished.Add(current);
                        }

                        current = parts[2];
                    }
                }

                continue;
            }

            PrometheusSample sample;
            try
            {
                sample = ParseSample(line, Where);
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                throw new FormatException($"{Where()}: the line ends too soon", e);
            }

            var family = FamilyOf(sample.Name, types);
            if (family != current)
            {
                if (finished.Contains(family) || types.ContainsKey(family))
                {
                    throw new FormatException($"{Where()}: a sample of {family} outside its family's block");
                }

                if (current is not null)
                {
                    finished.Add(current);
                }

                current = family;
            }

            samples.Add(sample);
        }

        CheckHistograms(samples, types, histogramSlack);
        return samples;
    }

    private static PrometheusSample ParseSample(string line, Func<string> where)
    {
        var i = 0;
        while (i < line.Length && line[i] is not ('{' or ' '))
        {
            i++;
        }

        var name = line[..i];
        if (!MetricName().IsMatch(name))
        {
            throw new FormatException($"{where()}: bad metric name '{name}'");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var label = line[i..eq];
                if (!LabelName().IsMatch(label) || line[eq + 1] != '"')
                {
                    throw new FormatException($"{where()}: bad label '{label}'");
                }

                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] == '\\')
                    {
                        j++;
                        value.Append(line[j] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"{where()}: bad escape \\{line[j]}"),
                        });
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }

                if (!labels.TryAdd(label, value.ToString()))
                {
                    throw new FormatException($"{where()}: label {label} twice");
                }

                i = j + 1;
                if (line[i] == ',')
                {
                    i++;
                }
                else if (line[i] != '}')
                {
                    throw new FormatException($"{where()}: expected , or }} after a label");
                }
            }

            i++;
        }

        var rest = line[i..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2 || (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
        {
            throw new FormatException($"{where()}: expected a value and an optional timestamp");
        }

        return new PrometheusSample(name, labels, ParseValue(rest[0], where));
    }

    private static double ParseValue(string text, Func<string> where) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"{where()}: bad value '{text}'"),
    };

    private static string FamilyOf(string name, Dictionary<string, string> types)
    {
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(name[..^suffix.Length], out var type) && type is "histogram" or "summary")
            {
                return name[..^suffix.Length];
            }
        }

        return name;
    }

    private static void CheckHistograms(List<PrometheusSample> samples, Dictionary<string, string> types, int slack)
    {
        foreach (var (family, _) in types.Where(t => t.Value == "histogram"))
        {
            var series = samples.Where(s => s.Name == family + "_bucket")
                .GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}")));
            foreach (var buckets in series)
            {
                var list = buckets.ToList();
                if (list.Any(b => !b.Labels.ContainsKey("le")) || list[^1].Labels["le"] != "+Inf")
                {
                    throw new FormatException($"{family}: buckets must carry le and end at +Inf");
                }

                for (var k = 1; k < list.Count; k++)
                {
                    if (list[k].Value < list[k - 1].Value)
                    {
                        throw new FormatException($"{family}: bucket counts decrease at le={list[k].Labels["le"]}");
                    }
                }

                var count = samples.SingleOrDefault(s => s.Name == family + "_count" && Same(s, list[0]));
                if (count is null || Math.Abs(count.Value - list[^1].Value) > slack || !samples.Any(s => s.Name == family + "_sum" && Same(s, list[0])))
                {
                    throw new FormatException($"{family}: _count must equal the +Inf bucket (count {count?.Value}, +Inf {list[^1].Value}), and _sum be there");
                }
            }
        }
    }

    private static bool Same(PrometheusSample a, PrometheusSample bucket) =>
        a.Labels.Count == bucket.Labels.Count - 1 && a.Labels.All(l => bucket.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();
}
