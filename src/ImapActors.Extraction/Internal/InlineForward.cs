using System.Buffers;
using System.Text;

namespace ImapActors.Extraction.Internal;

/// <summary>The header block of a forwarded message pasted into a body, which the reference turns into an Email Artifact.</summary>
internal static class InlineForward
{
    private static readonly SearchValues<string> ForwardedMessage = SearchValues.Create(["forwarded message"], StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The fields of the header block at the very start of a body's text once the first line naming "forwarded
    /// message" is removed; null or empty when there is none.
    /// </summary>
    public static List<(string Field, string Raw)>? HeaderFields(string text)
    {
        // A header block can only begin the text: its first 64 KiB (plus the marker line) are all that can matter.
        if (text.Length > 65536)
        {
            text = text[..65536];
        }

        // Most bodies neither name a forwarded message nor start like a header: they are not copied.
        var marker = text.AsSpan().IndexOfAny(ForwardedMessage);
        if (marker < 0 && !StartsWithFieldName(text))
        {
            return null;
        }

        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        marker = text.AsSpan().IndexOfAny(ForwardedMessage);
        if (marker >= 0)
        {
            var lineStart = text.LastIndexOf('\n', marker) + 1;
            var lineEnd = text.IndexOf('\n', marker);
            if (lineEnd >= 0)
            {
                text = text[..lineStart] + text[(lineEnd + 1)..];
            }
        }

        return ParseHeaderBlock(text.Trim());
    }

    /// <summary>Python's feedparser header rules: <c>name:</c> lines and their continuation lines, up to the first other line.</summary>
    internal static List<(string Field, string Raw)> ParseHeaderBlock(string text)
    {
        var fields = new List<(string, string)>();
        var pos = 0;
        string? name = null;
        StringBuilder? value = null;
        while (pos < text.Length && fields.Count < 1000)
        {
            var nl = text.IndexOf('\n', pos);
            var line = nl < 0 ? text[pos..] : text[pos..(nl + 1)];
            var next = nl < 0 ? text.Length : nl + 1;
            if (line.Length > 0 && line[0] is ' ' or '\t')
            {
                if (name is null)
                {
                    break;
                }

                value!.Append(line);
                pos = next;
                continue;
            }

            if (name is not null)
            {
                fields.Add((name, value!.ToString().TrimEnd('\r', '\n')));
                name = null;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !IsFieldName(line.AsSpan(0, colon)))
            {
                break;
            }

            name = line[..colon];
            value = new StringBuilder(line[(colon + 1)..].TrimStart(' ', '\t'));
            pos = next;
        }

        if (name is not null)
        {
            fields.Add((name, value!.ToString().TrimEnd('\r', '\n')));
        }

        return fields;
    }

    /// <summary>
    /// Whether the text's first line after leading white space starts with <c>name:</c>, as
    /// <see cref="ParseHeaderBlock"/> needs to find a field in the trimmed text (line breaks cannot occur in a name).
    /// </summary>
    private static bool StartsWithFieldName(string text)
    {
        var span = text.AsSpan();
        var start = 0;
        while (start < span.Length && char.IsWhiteSpace(span[start]))
        {
            start++;
        }

        var line = span[start..];
        var nl = line.IndexOf('\n');
        if (nl >= 0)
        {
            line = line[..nl];
        }

        var colon = line.IndexOf(':');
        return colon >= 0 && IsFieldName(line[..colon]);
    }

    private static bool IsFieldName(ReadOnlySpan<char> name)
    {
        foreach (var c in name)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
