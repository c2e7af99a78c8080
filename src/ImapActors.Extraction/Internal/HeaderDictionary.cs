using System.Text.Json.Nodes;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>A header block as raw fields, and as the header dictionary that Email and Vault Artifacts carry.</summary>
internal static class HeaderDictionary
{
    /// <summary>Up to this many fields, <see cref="Build"/> finds a name by comparing it with each key.</summary>
    internal const int LinearHeaderLookup = 32;

    /// <summary>Each field's name and raw value, in order.</summary>
    public static List<(string Field, string Raw)> Fields(HeaderList headers)
    {
        var list = new List<(string, string)>(headers.Count);
        foreach (var h in headers)
        {
            list.Add((h.Field, HeaderText.Raw(h)));
        }

        return list;
    }

    /// <summary>
    /// The header dictionary as the reference connector builds it: raw values; a later duplicate replaces the value and
    /// the spelling; <c>Received</c> always a list; decodedSubject/To/From/CC. Headers whose names start with "body" are
    /// kept.
    /// </summary>
    public static JsonObject Build(List<(string Field, string Raw)> fields)
    {
        // Built in place: a field whose name is already a key (ignoring case) replaces that member's name and value at
        // its position. Names are looked up linearly in an ordinary header block, through an index in a long one.
        var dict = new JsonObject();
        var index = fields.Count > LinearHeaderLookup ? new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase) : null;
        JsonArray? received = null;
        foreach (var (field, raw) in fields)
        {
            if (field.Equals("Received", StringComparison.OrdinalIgnoreCase))
            {
                if (received is null)
                {
                    received = [];
                    index?.Add("Received", dict.Count);
                    dict.Add("Received", received);
                }

                received.Add(raw);
                continue;
            }

            var at = IndexOfField(dict, index, field);
            if (at >= 0)
            {
                dict.SetAt(at, field, raw);
            }
            else
            {
                index?.Add(field, dict.Count);
                dict.Add(field, raw);
            }
        }

        AddDecoded(dict, index, "Subject", "decodedSubject");
        AddDecoded(dict, index, "To", "decodedTo");
        AddDecoded(dict, index, "From", "decodedFrom");
        AddDecoded(dict, index, "CC", "decodedCC");
        return dict;
    }

    /// <summary>Whether a header set has a From, To or Message-ID field, without which it gives no Email Artifact.</summary>
    public static bool HasArtifactHeader(HeaderList headers)
    {
        foreach (var h in headers)
        {
            if (h.Field.Equals("From", StringComparison.OrdinalIgnoreCase) || h.Field.Equals("To", StringComparison.OrdinalIgnoreCase) ||
                h.Field.Equals("Message-ID", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The raw value of the last field named <paramref name="name"/> ignoring case, or null.</summary>
    public static string? Lookup(List<(string Field, string Raw)> fields, string name)
    {
        string? value = null;
        foreach (var (field, raw) in fields)
        {
            if (field.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                value = raw;
            }
        }

        return value;
    }

    /// <summary>The position of the member named <paramref name="field"/> ignoring case, or -1.</summary>
    /// <remarks>
    /// <paramref name="index"/>, when there is one, holds the header names only. Without it the keys are scanned, which
    /// finds the same member: the only other keys, decodedSubject/To/From, never equal a header name looked up here.
    /// </remarks>
    private static int IndexOfField(JsonObject dict, Dictionary<string, int>? index, string field)
    {
        if (index is not null)
        {
            return index.TryGetValue(field, out var at) ? at : -1;
        }

        for (var i = 0; i < dict.Count; i++)
        {
            if (dict.GetAt(i).Key.Equals(field, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static void AddDecoded(JsonObject dict, Dictionary<string, int>? index, string header, string key)
    {
        if (IndexOfField(dict, index, header) is >= 0 and var at && dict.GetAt(at).Value is JsonValue v &&
            v.GetValue<string>() is { Length: > 0 } raw && !dict.ContainsKey(key))
        {
            dict[key] = HeaderText.Decoded(raw);
        }
    }
}
