using System.Net;

namespace ImapActors.Extraction.Internal;

/// <summary>
/// The <c>href</c> and <c>src</c> attribute values of the tags in a text, found in one pass, and what the scanners see of
/// the text: markup that only declares vocabularies blanked out, and for the bare-URL scan the links already taken.
/// </summary>
internal static class HtmlLinks
{
    /// <summary>What a browser strips from both ends of a link value: C0 control characters and the space.</summary>
    private static readonly char[] TrimmedChars = Enumerable.Range(0, 0x21).Select(c => (char)c).ToArray();

    /// <summary>
    /// What the scanners see of one text, as long as the text itself. <see cref="Text"/> has the values of
    /// <c>xmlns</c>/<c>xmlns:*</c> and <c>*schemaLocation</c> attributes and the <c>&lt;!DOCTYPE&gt;</c> declarations
    /// blanked: they name XML vocabularies and DTDs, never a place the message points to. <see cref="UrlText"/> also has
    /// the <c>http(s)</c> link values blanked, and the text of a link that only spells its own <c>href</c>: the link is
    /// reported whole, and a scan of the same characters would add copies cut at a blank, a line break, <c>[</c> or
    /// <c>#</c>.
    /// </summary>
    public readonly record struct Masked(string Text, string UrlText);

    /// <summary>Reports each link value (normalised as <see cref="LinkValue"/>, and whether it is an <c>href</c>).</summary>
    public static Masked Find(string text, Action<string, bool> found)
    {
        List<(int Start, int End)>? declarations = null;
        List<(int Start, int End)>? links = null;
        var i = 0;
        while (true)
        {
            var lt = text.IndexOf('<', i);
            if (lt < 0 || lt + 1 >= text.Length)
            {
                break;
            }

            i = lt + 1;
            if (text[i] == '!' && text.AsSpan(i + 1).StartsWith("DOCTYPE", StringComparison.OrdinalIgnoreCase))
            {
                // Public and system identifiers ("-//W3C//DTD XHTML 1.0...", "http://www.w3.org/TR/...dtd") name a DTD.
                var gt = text.IndexOf('>', i);
                var end = gt < 0 ? text.Length : gt + 1;
                (declarations ??= []).Add((lt, end));
                i = end;
                continue;
            }

            if (!char.IsAsciiLetter(text[i]))
            {
                continue;
            }

            var tagStart = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('>' or '/'))
            {
                i++;
            }

            var isAnchor = text.AsSpan(tagStart, i - tagStart).Equals("a", StringComparison.OrdinalIgnoreCase);
            string? anchorUrl = null;

            // Attributes up to the closing '>'.
            while (i < text.Length && text[i] != '>')
            {
                if (char.IsWhiteSpace(text[i]) || text[i] == '/')
                {
                    i++;
                    continue;
                }

                if (text[i] == '<')
                {
                    break;
                }

                var nameStart = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('=' or '>' or '<'))
                {
                    i++;
                }

                var name = text.AsSpan(nameStart, i - nameStart);
                while (i < text.Length && char.IsWhiteSpace(text[i]))
                {
                    i++;
                }

                if (i >= text.Length || text[i] != '=')
                {
                    continue;
                }

                i++;
                while (i < text.Length && char.IsWhiteSpace(text[i]))
                {
                    i++;
                }

                int valueStart, valueEnd;
                if (i < text.Length && text[i] is '"' or '\'')
                {
                    var quote = text[i];
                    var close = text.IndexOf(quote, i + 1);
                    if (close < 0)
                    {
                        return Apply(text, declarations, links);
                    }

                    valueStart = i + 1;
                    valueEnd = close;
                    i = close + 1;
                }
                else
                {
                    valueStart = i;
                    while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '>')
                    {
                        i++;
                    }

                    valueEnd = i;
                }

                if (IsDeclaration(name))
                {
                    (declarations ??= []).Add((valueStart, valueEnd));
                    continue;
                }

                var isHref = name.Equals("href", StringComparison.OrdinalIgnoreCase);
                if (isHref || name.Equals("src", StringComparison.OrdinalIgnoreCase))
                {
                    var value = LinkValue(text[valueStart..valueEnd]);
                    found(value, isHref);
                    if (IsHttp(value))
                    {
                        (links ??= []).Add((valueStart, valueEnd));
                        if (isHref && isAnchor)
                        {
                            anchorUrl = value;
                        }
                    }
                }
            }

            if (anchorUrl is not null && i < text.Length)
            {
                // <a href="http://x/long...">http://x/long
                //   ...</a>: the text is the same link, folded by the sender's editor.
                var textStart = i + 1;
                var next = text.IndexOf('<', textStart);
                var textEnd = next < 0 ? text.Length : next;
                if (Spells(text.AsSpan(textStart, textEnd - textStart), anchorUrl))
                {
                    (links ??= []).Add((textStart, textEnd));
                }
            }
        }

        return Apply(text, declarations, links);
    }

    /// <summary>
    /// A link value as a browser reads it: entities decoded, leading and trailing blanks and control characters
    /// stripped, tabs and line breaks removed, other blanks and control characters percent-encoded (WHATWG URL parsing).
    /// </summary>
    public static string LinkValue(string raw)
    {
        var value = WebUtility.HtmlDecode(raw).Trim(TrimmedChars);
        if (value.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
        {
            value = value.Replace("\t", string.Empty, StringComparison.Ordinal)
                .Replace("\n", string.Empty, StringComparison.Ordinal)
                .Replace("\r", string.Empty, StringComparison.Ordinal);
        }

        return Scanners.PercentEncodeControls(value, blanks: true);
    }

    private static bool IsHttp(string value) =>
        value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>xmlns</c>, <c>xmlns:o</c>, <c>xsi:schemaLocation</c>, <c>xsi:noNamespaceSchemaLocation</c>.</summary>
    private static bool IsDeclaration(ReadOnlySpan<char> name) =>
        name.Equals("xmlns", StringComparison.OrdinalIgnoreCase) ||
        name.StartsWith("xmlns:", StringComparison.OrdinalIgnoreCase) ||
        name.EndsWith("schemaLocation", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a link's text, entities decoded and blanks removed, is the link's own URL.</summary>
    private static bool Spells(ReadOnlySpan<char> linkText, string url)
    {
        var trimmed = linkText.Trim();
        if (trimmed.Length < 8 || trimmed.Length > url.Length * 2 + 64 || !trimmed.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var decoded = WebUtility.HtmlDecode(trimmed.ToString());
        var k = 0;
        foreach (var c in decoded)
        {
            if (char.IsWhiteSpace(c))
            {
                continue;
            }

            if (k >= url.Length || url[k] != c)
            {
                return false;
            }

            k++;
        }

        return k == url.Length;
    }

    private static Masked Apply(string text, List<(int Start, int End)>? declarations, List<(int Start, int End)>? links)
    {
        if (declarations is null && links is null)
        {
            return new Masked(text, text);
        }

        var buffer = text.ToCharArray();
        Blank(buffer, declarations);
        var withoutDeclarations = declarations is null ? text : new string(buffer);
        Blank(buffer, links);
        return new Masked(withoutDeclarations, links is null ? withoutDeclarations : new string(buffer));
    }

    private static void Blank(char[] buffer, List<(int Start, int End)>? ranges)
    {
        foreach (var (start, end) in ranges ?? [])
        {
            buffer.AsSpan(start, end - start).Fill(' ');
        }
    }
}
