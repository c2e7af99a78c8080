using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Configuration.Hocon;

namespace ImapActors.Configuration;

/// <summary>One value as written, and the environment variable it came from (null: written in the file).</summary>
internal sealed record Scalar(string Text, string? EnvironmentVariable);

/// <summary>Collects every problem, at most one per key, so one run of the loader reports them all.</summary>
internal sealed class Problems
{
    private readonly List<string> _list = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    public IReadOnlyList<string> List => _list;

    public void Add(string where, string what)
    {
        if (_keys.Add(where))
        {
            _list.Add($"{where}: {what}");
        }
    }
}

/// <summary>
/// Reads the keys of one section (an asset, storage, engine...) from layers in priority order: the operator's object
/// first, then defaults. Every reader reports what is wrong as "{prefix}key '{path}{key}': what" and returns null.
/// </summary>
internal sealed partial class ConfigReader
{
    private readonly HoconObject?[] _layers;
    private readonly Problems _problems;
    private readonly Func<string, string?> _environment;
    private readonly string _prefix;
    private readonly string _keyPath;
    private readonly IReadOnlyDictionary<string, string> _overrides;

    public ConfigReader(Problems problems, Func<string, string?> environment, string prefix, string keyPath, params HoconObject?[] layers)
        : this(problems, environment, prefix, keyPath, layers, new Dictionary<string, string>())
    {
    }

    private ConfigReader(Problems problems, Func<string, string?> environment, string prefix, string keyPath, HoconObject?[] layers,
        IReadOnlyDictionary<string, string> overrides)
    {
        _problems = problems;
        _environment = environment;
        _prefix = prefix;
        _keyPath = keyPath;
        _layers = layers;
        _overrides = overrides;
    }

    /// <summary>The operator's own object of this section, the one checked for unknown keys.</summary>
    public HoconObject? User => _layers.Length > 0 ? _layers[0] : null;

    public IReadOnlyList<HoconObject?> Layers => _layers;

    public Func<string, string?> Environment => _environment;

    public string Where(string key) => $"{_prefix}key '{_keyPath}{key}'";

    public void Problem(string key, string what) =>
        _problems.Add(Where(key), OverridingVariable(key) is { } variable ? $"{what} (from environment variable {variable})" : what);

    /// <summary>The same section limited to one layer (without environment overrides).</summary>
    public ConfigReader Only(HoconObject? layer) => new(_problems, _environment, _prefix, _keyPath, layer);

    /// <summary>
    /// The same section where each key of <paramref name="overrides"/> is read from its environment variable when that
    /// is set, over every layer: one file serves several nodes that differ only in those keys.
    /// </summary>
    public ConfigReader WithEnvironmentOverrides(IReadOnlyDictionary<string, string> overrides) =>
        new(_problems, _environment, _prefix, _keyPath, _layers, overrides);

    /// <summary>The environment variable that sets <paramref name="key"/> instead of the file, when it is set.</summary>
    private string? OverridingVariable(string key) =>
        _overrides.TryGetValue(key, out var variable) && _environment(variable) is not null ? variable : null;

    public static bool Has(HoconObject? layer, string key) => layer is not null && layer.Items.ContainsKey(key);

    public bool Has(string key) => _layers.Any(l => Has(l, key));

    /// <summary>Reports the operator's keys that this section does not know, suggesting a near spelling.</summary>
    public void RejectUnknownKeys(IReadOnlyCollection<string> known)
    {
        if (User is null)
        {
            return;
        }

        foreach (var key in User.Items.Keys.Where(k => !known.Contains(k)))
        {
            var nearest = known.Select(k => (Key: k, Distance: Distance(key, k))).Where(x => x.Distance <= 2).OrderBy(x => x.Distance)
                .Select(x => x.Key).FirstOrDefault();
            Problem(key, nearest is null ? "unknown key" : $"unknown key (did you mean '{nearest}'?)");
        }
    }

    /// <summary>The nested object under <paramref name="key"/> in one layer, or null; a non-object is reported.</summary>
    public HoconObject? ChildOf(HoconObject? layer, string key)
    {
        if (layer is null || !layer.Items.TryGetValue(key, out var value))
        {
            return null;
        }

        if (value.IsObject())
        {
            return value.GetObject();
        }

        if (layer == User)
        {
            Problem(key, "must be an object { ... }");
        }

        return null;
    }

    private HoconValue? Find(string key)
    {
        foreach (var layer in _layers)
        {
            if (layer is not null && layer.Items.TryGetValue(key, out var value))
            {
                return value;
            }
        }

        return null;
    }

    public Scalar? Scalar(string key)
    {
        if (OverridingVariable(key) is { } variable)
        {
            return new Scalar(_environment(variable)!, variable);
        }

        return Find(key) is { } value ? ToScalar(key, value) : null;
    }

    private Scalar? ToScalar(string key, HoconValue value)
    {
        if (value.IsObject())
        {
            Problem(key, "must be a single value, not an object");
            return null;
        }

        if (value.IsArray())
        {
            Problem(key, "must be a single value, not a list");
            return null;
        }

        string? text;
        try
        {
            text = value.GetString();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NotSupportedException)
        {
            Problem(key, "must be a single value");
            return null;
        }

        return text is null ? null : Resolve(key, text);
    }

    private Scalar? Resolve(string key, string text)
    {
        var marker = text.IndexOf(EnvironmentSubstitution.Marker, StringComparison.Ordinal);
        if (marker < 0)
        {
            return new Scalar(text, null);
        }

        if (marker > 0 || text.IndexOf(EnvironmentSubstitution.Marker, 1) > 0)
        {
            Problem(key, "an environment substitution ${NAME} must be the whole value");
            return null;
        }

        var optional = text.Length > 1 && text[1] == '?';
        var name = text[(optional ? 2 : 1)..];
        var resolved = _environment(name);
        if (resolved is null)
        {
            if (!optional)
            {
                Problem(key, $"environment variable '{name}' is not set");
            }

            return null;
        }

        return new Scalar(resolved, name);
    }

    public string? String(string key, bool required = false, string requiredWhy = "")
    {
        var value = Scalar(key)?.Text;
        if (value is null && required)
        {
            Problem(key, "is required" + requiredWhy);
        }
        else if (value is not null && string.IsNullOrWhiteSpace(value))
        {
            Problem(key, "must not be empty");
            return null;
        }

        return value;
    }

    public bool? Bool(string key)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        switch (s.Text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                Problem(key, $"must be true or false, got {Got(s.Text)}");
                return null;
        }
    }

    public int? Int(string key, int min, int max, string must)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        if (!int.TryParse(s.Text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Problem(key, $"{must}, got {Got(s.Text)}");
            return null;
        }

        return value;
    }

    public int? PositiveInt(string key) => Int(key, 1, int.MaxValue, "must be a positive integer");

    public int? NonNegativeInt(string key) => Int(key, 0, int.MaxValue, "must be a non-negative integer (0: one per core)");

    public int? Port(string key) => Int(key, 1, 65535, "must be a port number from 1 to 65535");

    /// <summary>A positive byte count: digits, or digits with a binary unit (k, KiB, M, MiB, G, GiB).</summary>
    public long? Size(string key)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        var match = SizePattern().Match(s.Text);
        if (match.Success && long.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var number) && number > 0)
        {
            var shift = char.ToLowerInvariant(match.Groups[2].Value.FirstOrDefault()) switch
            {
                'k' => 10,
                'm' => 20,
                'g' => 30,
                _ => 0,
            };
            if (number <= long.MaxValue >> shift)
            {
                return number << shift;
            }
        }

        Problem(key, $"must be a positive size such as 1048576, 512k, 4M or 1G, got {Got(s.Text)}");
        return null;
    }

    /// <summary>A positive duration with a unit. A bare number is refused: HOCON would read 60 as 60 ms.</summary>
    public TimeSpan? Duration(string key)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        var match = DurationPattern().Match(s.Text);
        if (match.Success && double.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var number) && number > 0)
        {
            var unit = match.Groups[2].Value.ToLowerInvariant();
            TimeSpan? value = unit switch
            {
                "ms" or "millis" or "millisecond" or "milliseconds" => TimeSpan.FromMilliseconds(number),
                "s" or "second" or "seconds" => TimeSpan.FromSeconds(number),
                "m" or "min" or "minute" or "minutes" => TimeSpan.FromMinutes(number),
                "h" or "hour" or "hours" => TimeSpan.FromHours(number),
                "d" or "day" or "days" => TimeSpan.FromDays(number),
                _ => null,
            };
            if (value is { } v && v > TimeSpan.Zero)
            {
                return v;
            }
        }

        Problem(key, $"must be a positive duration with a unit such as 500ms, 60s, 5m or 1h, got {Got(s.Text)}");
        return null;
    }

    /// <summary>One of <paramref name="allowed"/>, compared exactly (the reference's value lists are exact).</summary>
    public string? OneOf(string key, params string[] allowed)
    {
        if (Scalar(key) is not { } s)
        {
            return null;
        }

        if (allowed.Contains(s.Text, StringComparer.Ordinal))
        {
            return s.Text;
        }

        var quoted = allowed.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a).ToList();
        var list = quoted.Count == 2 ? $"{quoted[0]} or {quoted[1]}" : "one of " + string.Join(", ", quoted);
        Problem(key, $"must be {list}, got {Got(s.Text)}");
        return null;
    }

    /// <summary>A list of strings: a HOCON list, or a JSON list in a string (the reference's <c>scopes</c> form).</summary>
    public IReadOnlyList<string>? StringList(string key)
    {
        if (Find(key) is not { } value)
        {
            return null;
        }

        // Akka's IsArray() is false for an empty list, so look at the element itself.
        var array = value.Values is [HoconArray only] ? only : value.IsArray() ? value.GetArray() : null;
        if (array is not null)
        {
            var items = new List<string>();
            foreach (var element in array)
            {
                if (element.IsObject() || element.IsArray())
                {
                    Problem(key, "must be a list of strings");
                    return null;
                }

                if (element.GetString() is { } text && Resolve(key, text) is { } s)
                {
                    items.Add(s.Text);
                }
            }

            return items;
        }

        if (ToScalar(key, value) is not { } scalar)
        {
            return null;
        }

        try
        {
            if (JsonSerializer.Deserialize<List<string>>(scalar.Text) is { } parsed && parsed.All(p => p is not null))
            {
                return parsed;
            }
        }
        catch (JsonException)
        {
        }

        Problem(key, $"must be a list of strings: [\"a\", \"b\"] or a JSON list in a string, got {Got(scalar.Text)}");
        return null;
    }

    private static string Got(string text) =>
        double.TryParse(text, CultureInfo.InvariantCulture, out _) ? text : $"'{text}'";

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var previous = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var current = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = current;
            }
        }

        return row[b.Length];
    }

    [GeneratedRegex(@"^\s*(\d+)\s*(|b|k|kib|m|mib|g|gib)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex SizePattern();

    [GeneratedRegex(@"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")]
    private static partial Regex DurationPattern();
}
