using System.Net;

namespace ImapActors.Extraction.Internal;

/// <summary>The <c>href</c> and <c>src</c> attribute values of the tags in a text, found in one pass.</summary>
internal static class HtmlLinks
{
    public static void Find(string text, Action<string, bool> found)
    {
        var i = 0;
        while (true)
        {
            var lt = text.IndexOf('<', i);
            if (lt < 0 || lt + 1 >= text.Length)
            {
                return;
            }

            i = lt + 1;
            if (!char.IsAsciiLetter(text[i]))
            {
                continue;
            }

            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('>' or '/'))
            {
                i++;
            }

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

                string value;
                if (i < text.Length && text[i] is '"' or '\'')
                {
                    var quote = text[i];
                    var close = text.IndexOf(quote, i + 1);
                    if (close < 0)
                    {
                        return;
                    }

                    value = text[(i + 1)..close];
                    i = close + 1;
                }
                else
                {
                    var vs = i;
                    while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != '>')
                    {
                        i++;
                    }

                    value = text[vs..i];
                }

                var isHref = name.Equals("href", StringComparison.OrdinalIgnoreCase);
                if (isHref || name.Equals("src", StringComparison.OrdinalIgnoreCase))
                {
                    found(WebUtility.HtmlDecode(value), isHref);
                }
            }
        }
    }
}
