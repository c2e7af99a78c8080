using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ImapActors.Extraction.Internal;

/// <summary>
/// Hand-written, single-pass scanners for the indicators in body text. None of them backtracks, so hostile text costs
/// time linear in its length (the reference's regexes are replaced, not translated).
/// </summary>
internal static class Scanners
{
    private const string AsciiWordChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";

    /// <summary>Every character the IPv6 scanner can step over inside a run: word characters, <c>: . %</c>.</summary>
    private static readonly SearchValues<char> IPv6RunChars = SearchValues.Create(AsciiWordChars + ":.%");

    private static readonly SearchValues<string> Http = SearchValues.Create(["http"], StringComparison.OrdinalIgnoreCase);

    private static bool IsAsciiWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    /// <summary>Python's <c>\w</c> on str: Unicode letters, digits and the underscore.</summary>
    private static bool IsWord(char c) => c < 128
        ? char.IsAsciiLetterOrDigit(c) || c == '_'
        : char.IsLetterOrDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ConnectorPunctuation;

    // ---------------------------------------------------------------- hashes

    /// <summary>Whole words of 32, 40 or 64 hex digits (MD5, SHA-1, SHA-256), case kept.</summary>
    /// <remarks>
    /// Such a word is a maximal run of hex digits, at least 32 long, with no word character on either side. So the
    /// scan probes the character 31 places ahead of the earliest possible start: when it is not a hex digit, no run
    /// can start before it and the scan jumps past it; when it is, the run around it is measured once. Every character
    /// is looked at most twice, and ordinary text is mostly skipped 32 characters at a time.
    /// </remarks>
    public static void Hashes(string text, Action<string> found)
    {
        // Invariant: the character before i, if any, is not a hex digit.
        var i = 0;
        while (i + 31 < text.Length)
        {
            var probe = i + 31;
            if (!char.IsAsciiHexDigit(text[probe]))
            {
                i = probe + 1;
                continue;
            }

            var start = probe;
            while (start > i && char.IsAsciiHexDigit(text[start - 1]))
            {
                start--;
            }

            var end = probe + 1;
            while (end < text.Length && char.IsAsciiHexDigit(text[end]))
            {
                end++;
            }

            var len = end - start;
            if (len is 32 or 40 or 64 && (start == 0 || !IsWord(text[start - 1])) && (end == text.Length || !IsWord(text[end])))
            {
                found(text.Substring(start, len));
            }

            i = end + 1;
        }
    }

    // ---------------------------------------------------------------- IPv4

    /// <summary>
    /// Dotted quads with real boundaries: not part of a longer number, a longer dotted sequence (versions such as
    /// <c>1.2.3.4.5</c>) or a word; octets 0-255 without leading zeros.
    /// </summary>
    public static void IPv4(string text, Action<string> found)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                var digit = text.AsSpan(i).IndexOfAnyInRange('0', '9');
                if (digit < 0)
                {
                    return;
                }

                i += digit;
            }

            var start = i;
            if (start > 0 && (char.IsAsciiLetterOrDigit(text[start - 1]) || (text[start - 1] == '.' && start > 1 && char.IsAsciiDigit(text[start - 2]))))
            {
                SkipNumberRun(text, ref i);
                continue;
            }

            var end = TryDottedQuad(text, start);
            if (end < 0)
            {
                SkipNumberRun(text, ref i);
                continue;
            }

            // An underscore separates (proofpoint-style "http-3A__192.0.2.1"), a letter or digit does not.
            var bad = end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) ||
                (text[end] == '.' && end + 1 < text.Length && char.IsAsciiDigit(text[end + 1])));
            if (!bad)
            {
                found(text[start..end]);
            }

            i = end;
            SkipNumberRun(text, ref i);
        }
    }

    private static void SkipNumberRun(string text, ref int i)
    {
        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || (text[i] == '.' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))))
        {
            i++;
        }
    }

    /// <summary>Returns the end of a valid dotted quad starting at <paramref name="start"/>, or -1.</summary>
    internal static int TryDottedQuad(string text, int start)
    {
        var p = start;
        for (var octet = 0; octet < 4; octet++)
        {
            if (octet > 0)
            {
                if (p >= text.Length || text[p] != '.')
                {
                    return -1;
                }

                p++;
            }

            var s = p;
            var value = 0;
            while (p < text.Length && char.IsAsciiDigit(text[p]) && p - s < 3)
            {
                value = value * 10 + (text[p] - '0');
                p++;
            }

            var len = p - s;
            if (len == 0 || value > 255 || (len > 1 && text[s] == '0') || (p < text.Length && char.IsAsciiDigit(text[p])))
            {
                return -1;
            }
        }

        return p;
    }

    public static bool IsIPv4(string s) => s.Length is >= 7 and <= 15 && TryDottedQuad(s, 0) == s.Length;

    // ---------------------------------------------------------------- IPv6

    /// <summary>
    /// IPv6 addresses (full match only, zone dropped). An IPv4-mapped address (<c>::ffff:a.b.c.d</c>) is reported as
    /// its IPv4 address, which is the host it names.
    /// </summary>
    public static void IPv6(string text, Action<string> found)
    {
        var i = 0;
        var colon = -1;
        while (i < text.Length)
        {
            if (colon < i)
            {
                // Only a run with colons can be an address. The scan never steps over a character outside
                // IPv6RunChars, so it can resume after the last such character before the next colon: what lies
                // between holds no colon and gives nothing. Each stretch is searched once, so this stays linear.
                var next = text.AsSpan(i).IndexOf(':');
                if (next < 0)
                {
                    return;
                }

                colon = i + next;
                var reset = text.AsSpan(i, colon - i).LastIndexOfAnyExcept(IPv6RunChars);
                if (reset >= 0)
                {
                    i += reset + 1;
                }
            }

            var c = text[i];
            if (!(char.IsAsciiHexDigit(c) || c == ':'))
            {
                i++;
                continue;
            }

            var start = i;
            var colons = 0;
            while (i < text.Length && (char.IsAsciiHexDigit(text[i]) || text[i] is ':' or '.'))
            {
                colons += text[i] == ':' ? 1 : 0;
                i++;
            }

            var end = i;
            if (colons < 2 || end - start > 45 || (start > 0 && IsAsciiWord(text[start - 1])))
            {
                SkipWord(text, ref i);
                continue;
            }

            // A zone id (fe80::1%eth0) belongs to the address but is not reported.
            if (i < text.Length && text[i] == '%')
            {
                i++;
                while (i < text.Length && IsAsciiWord(text[i]))
                {
                    i++;
                }
            }
            else if (i < text.Length && IsAsciiWord(text[i]))
            {
                SkipWord(text, ref i);
                continue;
            }

            // Sentence punctuation after an address is not part of it.
            while (end > start && text[end - 1] == '.')
            {
                end--;
            }

            var candidate = text[start..end];
            if (candidate.Contains("::", StringComparison.Ordinal) || colons >= 7)
            {
                if (candidate.EndsWith(':') && !candidate.EndsWith("::", StringComparison.Ordinal))
                {
                    continue;
                }

                if (IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    if (address.IsIPv4MappedToIPv6)
                    {
                        found(address.MapToIPv4().ToString());
                    }
                    else
                    {
                        found(candidate);
                    }
                }
            }
        }
    }

    private static void SkipWord(string text, ref int i)
    {
        while (i < text.Length && (IsAsciiWord(text[i]) || text[i] is ':' or '.'))
        {
            i++;
        }
    }

    // ---------------------------------------------------------------- URLs

    /// <summary>
    /// <c>http(s)://</c> URLs as the reference's 5.0.0 URI_REGEX finds them (host: letters, digits, <c>:@.-_</c>, any
    /// non-ASCII character and bracketed runs; path from the first <c>/</c> or <c>?</c> to whitespace or one of
    /// <c>[ ' " ( { ) ] }</c>, bracketed runs allowed), then cleaned as <c>_clean_url</c> does. Not yet validated.
    /// </summary>
    public static void Urls(string text, Action<string> found)
    {
        var i = 0;
        while (true)
        {
            var h = text.AsSpan(i).IndexOfAny(Http);
            if (h < 0)
            {
                return;
            }

            h += i;
            var p = h + 4;
            if (p < text.Length && (text[p] == 's' || text[p] == 'S'))
            {
                p++;
            }

            if (p + 3 > text.Length || text[p] != ':' || text[p + 1] != '/' || text[p + 2] != '/')
            {
                i = h + 4;
                continue;
            }

            p += 3;
            var hostStart = p;
            while (p < text.Length)
            {
                var c = text[p];
                if (IsHostChar(c))
                {
                    p++;
                }
                else if (c is '[' or '(' && TryBracket(text, p, allowSpace: false, out var close))
                {
                    p = close + 1;
                }
                else
                {
                    break;
                }
            }

            if (p == hostStart)
            {
                i = p;
                continue;
            }

            while (p < text.Length && text[p] is '/' or '?')
            {
                while (p < text.Length && text[p] is '/' or '?')
                {
                    p++;
                }

                while (p < text.Length)
                {
                    var c = text[p];
                    if (c is '[' or '(')
                    {
                        if (TryBracket(text, p, allowSpace: true, out var close))
                        {
                            p = close + 1;
                            continue;
                        }

                        break;
                    }

                    if (c is '\'' or '"' or '{' or ')' or ']' or '}' || char.IsWhiteSpace(c))
                    {
                        break;
                    }

                    p++;
                }
            }

            var cleaned = CleanUrl(text[h..p]);
            if (cleaned.Length > 0)
            {
                found(cleaned);
            }

            i = p;
        }
    }

    private static bool IsHostChar(char c) =>
        c is ':' or '@' or '.' or '-' or '_' || char.IsAsciiLetterOrDigit(c) || (c > '~' && !char.IsWhiteSpace(c));

    /// <summary>A bracketed run <c>[\[\(][^\s\[\]\(\)]*[\]\)]</c> (whitespace allowed inside in the path part).</summary>
    private static bool TryBracket(string text, int open, bool allowSpace, out int close)
    {
        // Bounded look-ahead keeps a text full of unclosed brackets linear.
        var limit = Math.Min(text.Length, open + 1 + 2048);
        for (var q = open + 1; q < limit; q++)
        {
            var c = text[q];
            if (c is ']' or ')')
            {
                close = q;
                return true;
            }

            if (c is '[' or '(' || (!allowSpace && char.IsWhiteSpace(c)))
            {
                break;
            }
        }

        close = -1;
        return false;
    }

    /// <summary>
    /// The reference's <c>_clean_url</c> (cut at the first <c>&lt;</c> and <c>&gt;</c>), with its end trimmed by rule
    /// rather than by its fixed character list: a URL ends before CSS glued to it (<c>;background:...</c>), trailing
    /// sentence punctuation (<c>. , ; : ! ?</c>) is not part of it, nor is a closing bracket or quote that opens
    /// nowhere in it (so <c>http://x/wiki/A_(b)</c> keeps its <c>)</c>); control characters are percent-encoded.
    /// </summary>
    internal static string CleanUrl(string url)
    {
        var lt = url.IndexOf('<', StringComparison.Ordinal);
        if (lt >= 0)
        {
            url = url[..lt];
        }

        var gt = url.IndexOf('>', StringComparison.Ordinal);
        if (gt >= 0)
        {
            url = url[..gt];
        }

        var css = CssDeclarationStart(url);
        if (css >= 0)
        {
            url = url[..css];
        }

        // Counts of the brackets and quotes left, kept up to date as the end is trimmed, so trimming stays linear.
        Span<int> counts = stackalloc int[Pairs.Length];
        foreach (var c in url)
        {
            var k = Pairs.IndexOf(c);
            if (k >= 0)
            {
                counts[k]++;
            }
        }

        var end = url.Length;
        while (end > 0)
        {
            var c = url[end - 1];
            var k = Pairs.IndexOf(c);
            var unbalanced = k >= 0 && (k % 2 == 1 ? counts[k] > counts[k - 1] : Pairs[k + 1] == c && counts[k] % 2 == 1);
            if (!(char.IsWhiteSpace(c) || c is '.' or ',' or ';' or ':' or '!' or '?' || unbalanced))
            {
                break;
            }

            if (k >= 0)
            {
                counts[k]--;
            }

            end--;
        }

        return PercentEncodeControls(url[..end].TrimStart(), blanks: false);
    }

    /// <summary>
    /// Opening and closing brackets and quotes, in pairs (even index opens, the next closes). A quote that is its own
    /// closer is listed twice, at the even index: it closes nothing when it is the only one.
    /// </summary>
    private const string Pairs = "()[]{}<>\u201C\u201D\u2018\u2019\u00AB\u00BB\u2039\u203A\"\"''";

    /// <summary>Where a <c>;</c> starts a CSS declaration (<c>;name:</c>, <c>;-vendor-name:</c>); -1 if nowhere.</summary>
    /// <remarks><c>;jsessionid=...</c> and other path parameters are not declarations: they have no <c>:</c> after the name.</remarks>
    private static int CssDeclarationStart(string url)
    {
        var semi = url.IndexOf(';', StringComparison.Ordinal);
        while (semi >= 0)
        {
            var p = semi + 1;
            if (p < url.Length && url[p] == '-')
            {
                p++;
            }

            var nameStart = p;
            while (p < url.Length && (char.IsAsciiLetter(url[p]) || (p > nameStart && url[p] == '-')))
            {
                p++;
            }

            if (p > nameStart && p < url.Length && url[p] == ':')
            {
                return semi;
            }

            semi = url.IndexOf(';', semi + 1);
        }

        return -1;
    }

    /// <summary>
    /// The URL with C0 and C1 control characters and DEL (and with <paramref name="blanks"/>, spaces) percent-encoded as
    /// UTF-8, as a browser sends them: <c>&amp;#16;</c> in a message must not hide or alter a URL's characters.
    /// </summary>
    internal static string PercentEncodeControls(string url, bool blanks)
    {
        static bool Encoded(char c, bool blanks) => c < 0x20 || c is >= '\u007F' and <= '\u009F' || (blanks && c == ' ');

        var first = 0;
        while (first < url.Length && !Encoded(url[first], blanks))
        {
            first++;
        }

        if (first == url.Length)
        {
            return url;
        }

        var sb = new System.Text.StringBuilder(url.Length + 8);
        sb.Append(url, 0, first);
        Span<byte> utf8 = stackalloc byte[2];
        for (var k = first; k < url.Length; k++)
        {
            var c = url[k];
            if (!Encoded(c, blanks))
            {
                sb.Append(c);
                continue;
            }

            var n = System.Text.Encoding.UTF8.GetBytes([c], utf8);
            foreach (var b in utf8[..n])
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    // ---------------------------------------------------------------- e-mail addresses (domains only)

    /// <summary>
    /// The domains of e-mail addresses (<c>local@host.tld</c> and <c>"quoted"@host.tld</c>): the text after the last
    /// <c>@</c> of an address-like run, as the reference's two address regexes give them. Beyond the reference, labels
    /// may hold non-ASCII letters, digits and marks (<c>admin@𝐞𝐯𝐢𝐥.com</c>, <c>info@bücher.example</c>), an ideographic
    /// full stop separates labels, and a top-level label may be spelled in letters that map to ASCII ones
    /// (<c>ｃｏｍ</c>); the local part may end in a non-ASCII letter or digit.
    /// </summary>
    public static void EmailDomains(string text, Action<string> found)
    {
        var i = 0;
        while (true)
        {
            var at = text.IndexOf('@', i);
            if (at < 0)
            {
                return;
            }

            var before = at > 0 ? text[at - 1] : '\0';
            var localOk = IsLocalChar(before) || before == '"' ||
                (before >= 0x80 && Rune.DecodeLastFromUtf16(text.AsSpan(0, at), out var last, out _) == OperationStatus.Done &&
                    Rune.IsLetterOrDigit(last));
            var p = at;
            while (p < text.Length && text[p] == '@')
            {
                p++;
            }

            var domStart = p;
            while (p < text.Length)
            {
                var c = text[p];
                if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' || IsIdeographicFullStop(c))
                {
                    p++;
                }
                else if (c >= 0x80 && Rune.DecodeFromUtf16(text.AsSpan(p), out var rune, out var used) == OperationStatus.Done &&
                    IsDomainRune(rune))
                {
                    p += used;
                }
                else
                {
                    break;
                }
            }

            i = Math.Max(p, at + 1);
            if (!localOk || p == domStart)
            {
                continue;
            }

            // The longest prefix ending in ".letters{2,}" at a word boundary, found in one forward pass.
            var end = -1;
            var lastDot = -1;
            var lettersSinceDot = 0;
            var onlyLetters = false;
            for (var q = domStart; q <= p;)
            {
                var atEnd = q == p;
                if (atEnd || text[q] is '.' or '-' || IsIdeographicFullStop(text[q]))
                {
                    var boundary = !atEnd || q >= text.Length || !IsWord(text[q]);
                    if (boundary && lastDot > domStart && onlyLetters && lettersSinceDot >= 2)
                    {
                        end = q;
                    }
                }

                if (atEnd)
                {
                    break;
                }

                var c = text[q];
                var width = 1;
                if (c == '.' || IsIdeographicFullStop(c))
                {
                    lastDot = q;
                    lettersSinceDot = 0;
                    onlyLetters = true;
                }
                else if (char.IsAsciiLetter(c))
                {
                    lettersSinceDot++;
                }
                else if (c >= 0x80 && Rune.DecodeFromUtf16(text.AsSpan(q, p - q), out var rune, out width) == OperationStatus.Done &&
                    Uts46.IsAsciiLetterLookalike(rune))
                {
                    lettersSinceDot++;
                }
                else
                {
                    onlyLetters = false;
                    width = Math.Max(width, 1);
                }

                q += width;
            }

            if (end < 0)
            {
                continue;
            }

            var domain = text[domStart..end];
            if (!IsIPv4(domain))
            {
                found(domain);
            }
        }
    }

    private static bool IsIdeographicFullStop(char c) => c is '\u3002' or '\uFF0E' or '\uFF61';

    /// <summary>A non-ASCII code point that may stand in a domain label: a letter, a digit or a combining mark.</summary>
    private static bool IsDomainRune(Rune rune) =>
        Rune.IsLetterOrDigit(rune) || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;

    private static bool IsLocalChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-';
}
